import { Construct } from 'constructs';
import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { WorkerCapacity } from '../config.js';
import { FruitsTask } from './fruits-task.js';
import type { RedisQueue } from './redis-queue.js';

/** The BullMQ queue the workers consume: waiting jobs are the Redis LIST `fruits:shards:wait`. */
export const BULLMQ = { prefix: 'fruits', queue: 'shards' } as const;

/**
 * The queue-depth metric the workers scale on. The fruits coordinator and workers emit it as CloudWatch
 * Embedded Metric Format log lines every 15 s, so CloudWatch Logs turns their stdout into the metric:
 * no Lambda, no agent. Value: waiting + active jobs of the BullMQ queue `shards` (prefix `fruits`).
 */
export const PENDING_SHARDS = {
  namespace: 'Fruits',
  metricName: 'PendingShards',
  dimensions: { Queue: BULLMQ.queue },
} as const;

export function pendingShardsMetric(): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: PENDING_SHARDS.namespace,
    metricName: PENDING_SHARDS.metricName,
    dimensionsMap: { ...PENDING_SHARDS.dimensions },
    // Every process reports the same queue-wide count; the maximum is robust to a late or stale reporter.
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
  });
}

export interface ScaleStep {
  /** Interval of PendingShards − 1 (the alarm threshold is PendingShards ≥ 1): lower inclusive, upper exclusive. */
  lowerBound: number;
  upperBound?: number;
  /** Exact number of workers for this interval. */
  capacity: number;
}

/**
 * Step adjustments of the scale-out policy: desired workers = ceil(PendingShards / shardsPerWorker),
 * at most maxWorkers, in at most 20 steps (the Application Auto Scaling limit per policy): with more
 * workers than steps, capacities are spread evenly and a backlog maps to the next capacity up.
 */
export function scaleOutSteps(maxWorkers: number, shardsPerWorker: number): ScaleStep[] {
  const n = Math.min(maxWorkers, 20);
  const capacities = Array.from({ length: n }, (_, k) => Math.ceil(((k + 1) * maxWorkers) / n));
  return capacities.map((capacity, k) => {
    const previous = k === 0 ? 0 : capacities[k - 1];
    return {
      // PendingShards in [previous·s + 1, capacity·s] → capacity workers; relative to the threshold 1.
      lowerBound: previous * shardsPerWorker,
      upperBound: k === n - 1 ? undefined : capacity * shardsPerWorker,
      capacity,
    };
  });
}

export interface WorkerServiceProps {
  readonly name: string;
  readonly cluster: ecs.Cluster;
  readonly image: ecs.ContainerImage;
  readonly redis: RedisQueue;
  readonly capacity: WorkerCapacity;
  readonly cpu: number;
  readonly memory: number;
  readonly instanceType: string;
  readonly maxWorkers: number;
  readonly shardsPerWorker: number;
  readonly concurrency?: number;
  /**
   * The storage prefixes the workers accept (FRUITS_ALLOW): the bucket's input/ and runs/, what their role may
   * read and write. A worker's default is its current directory only, which in the image holds no run.
   */
  readonly allow: string[];
  readonly scaleToZeroAfterMinutes: number;
  readonly region: string;
  readonly logRetentionDays: number;
  readonly subnets: ec2.SubnetSelection;
  readonly assignPublicIp: boolean;
}

/**
 * The BullMQ workers: an ECS service that sits at 0 tasks and follows the queue depth.
 *
 * Scaling (Application Auto Scaling, two step policies on Fruits/PendingShards):
 * - scale out / follow: alarm PendingShards ≥ 1 over 1 minute → exact capacity ceil(pending / shardsPerWorker)
 *   (capped at maxWorkers). This starts workers from 0, and the alarm re-runs the policy every minute
 *   while work is pending, so the count follows the backlog.
 * - scale to zero: alarm PendingShards ≤ 0 — or no data at all, since nobody reports when nothing runs —
 *   for scaleToZeroAfterMinutes consecutive minutes → exact capacity 0.
 */
export class WorkerService extends Construct {
  readonly task: FruitsTask;
  readonly service: ecs.BaseService;
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly scaleOutAlarm: cloudwatch.Alarm;
  readonly scaleToZeroAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id);
    const ec2Capacity = props.capacity === 'ec2';

    this.task = new FruitsTask(this, 'Task', {
      role: 'worker',
      name: props.name,
      vpc: props.cluster.vpc,
      image: props.image,
      cpu: props.cpu,
      memory: props.memory,
      compatibility: ec2Capacity ? 'ec2' : 'fargate',
      region: props.region,
      command: ['worker', ...(props.concurrency ? ['--concurrency', String(props.concurrency)] : [])],
      // Comma-separated: `fruits worker` splits FRUITS_ALLOW on commas (a colon is part of s3://).
      environment: { FRUITS_ALLOW: props.allow.join(',') },
      redis: props.redis,
      logRetentionDays: props.logRetentionDays,
      // The worker finishes (or hands back) its current shard on SIGTERM; 120 s is the Fargate maximum.
      stopTimeout: Duration.seconds(120),
    });

    const common = {
      cluster: props.cluster,
      serviceName: `${props.name}-worker`,
      desiredCount: 0,
      // Batch workers: a deployment may stop old tasks before new ones run (jobs are retried by BullMQ).
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      securityGroups: [this.task.securityGroup],
      vpcSubnets: props.subnets,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
      circuitBreaker: { rollback: false },
    };

    if (ec2Capacity) {
      const provider = this.ec2CapacityProvider(props);
      this.service = new ecs.Ec2Service(this, 'Service', {
        ...common,
        taskDefinition: this.task.taskDefinition,
        capacityProviderStrategies: [{ capacityProvider: provider.capacityProviderName, weight: 1 }],
      });
    } else {
      this.service = new ecs.FargateService(this, 'Service', {
        ...common,
        taskDefinition: this.task.taskDefinition,
        assignPublicIp: props.assignPublicIp,
        capacityProviderStrategies: [{ capacityProvider: props.capacity === 'fargate-spot' ? 'FARGATE_SPOT' : 'FARGATE', weight: 1 }],
      });
    }

    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: 0,
      maxCapacity: props.maxWorkers,
    });

    const metric = pendingShardsMetric();

    const scaleOut = new appscaling.StepScalingAction(this, 'FollowBacklog', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    for (const step of scaleOutSteps(props.maxWorkers, props.shardsPerWorker)) {
      scaleOut.addAdjustment({ lowerBound: step.lowerBound, upperBound: step.upperBound, adjustment: step.capacity });
    }
    this.scaleOutAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      alarmDescription: `${props.name}: shards are pending → run ceil(pending / ${props.shardsPerWorker}) workers (max ${props.maxWorkers})`,
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.scaleOutAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleOut));

    const scaleIn = new appscaling.StepScalingAction(this, 'ScaleToZero', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    });
    scaleIn.addAdjustment({ upperBound: 0, adjustment: 0 });
    this.scaleToZeroAlarm = new cloudwatch.Alarm(this, 'IdleAlarm', {
      alarmDescription: `${props.name}: no shard pending for ${props.scaleToZeroAfterMinutes} min → 0 workers`,
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: props.scaleToZeroAfterMinutes,
      // Nobody reports the metric when no coordinator and no worker runs: that is idle too.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.scaleToZeroAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleIn));
  }

  /** EC2 option: an Auto Scaling group of `instanceType` from 0 to maxWorkers instances, managed by ECS. */
  private ec2CapacityProvider(props: WorkerServiceProps): ecs.AsgCapacityProvider {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `${props.name} worker instances (ECS agent)`,
    });
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      // Resolved at deploy time from the public SSM parameter: no lookup at synth time.
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(),
      userData: ec2.UserData.forLinux(),
      role,
      requireImdsv2: true,
      securityGroup: new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
        vpc: props.cluster.vpc,
        description: `${props.name} worker instances: ECS agent egress only`,
        allowAllOutbound: true,
      }),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });
    const group = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc: props.cluster.vpc,
      vpcSubnets: props.subnets,
      launchTemplate,
      minCapacity: 0,
      maxCapacity: props.maxWorkers,
    });
    const provider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: group,
      enableManagedScaling: true,
      targetCapacityPercent: 100,
      // Without it `cdk destroy` can delete instances that still run tasks; with it, destroy would hang.
      enableManagedTerminationProtection: false,
    });
    props.cluster.addAsgCapacityProvider(provider);
    return provider;
  }
}
