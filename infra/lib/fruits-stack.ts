import { fileURLToPath } from 'node:url';
import { Construct } from 'constructs';
import { CfnOutput, Stack, Tags, Token, type StackProps } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { FruitsConfig } from './config.js';
import { AppService } from './constructs/app-service.js';
import { CoordinatorTask } from './constructs/coordinator-task.js';
import { DataBucket, PREFIX } from './constructs/data-bucket.js';
import { Network } from './constructs/network.js';
import { RedisQueue } from './constructs/redis-queue.js';
import { WorkerService } from './constructs/worker-service.js';

/** The repository root: the Docker build context of the `fruits` image (see /Dockerfile, /.dockerignore). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FruitsStackProps extends StackProps {
  readonly config: FruitsConfig;
  /**
   * The `fruits` image. Default: built from the repository's Dockerfile by `cdk deploy`
   * (ContainerImage.fromAsset, pushed to the CDK bootstrap ECR repository). Tests pass a registry image.
   */
  readonly image?: ecs.ContainerImage;
}

/**
 * Everything a distributed fruits run needs in one AWS account and region:
 * S3 bucket (kept on destroy) ← Fargate workers (0…maxWorkers, on queue depth) ← BullMQ on ElastiCache Redis
 * ← coordinator task (run-task) ; app service behind an ALB serving a finished run.
 */
export class FruitsStack extends Stack {
  readonly config: FruitsConfig;
  readonly network: Network;
  readonly data: DataBucket;
  readonly redis: RedisQueue;
  readonly cluster: ecs.Cluster;
  readonly workers: WorkerService;
  readonly coordinator: CoordinatorTask;
  readonly app: AppService;

  constructor(scope: Construct, id: string, props: FruitsStackProps) {
    super(scope, id, {
      description: `fruits (${props.config.environment}): featurize fruit images with MobileNetV2 on ECS, BullMQ on ElastiCache, S3`,
      ...props,
    });
    const config = (this.config = props.config);
    if (!Token.isUnresolved(this.region) && this.region !== config.region) {
      throw new Error(`stack region ${this.region} differs from the configured region ${config.region}`);
    }
    const name = `fruits-${config.environment}`;
    Tags.of(this).add('Project', 'fruits');
    Tags.of(this).add('Environment', config.environment);

    const image = props.image ?? this.imageFromRepository(config);

    this.network = new Network(this, 'Network', {
      availabilityZones: config.availabilityZones,
      natGateways: config.natGateways,
    });
    const vpc = this.network.vpc;

    this.data = new DataBucket(this, 'Data', { tmpExpiryDays: config.tmpExpiryDays });
    const bucket = this.data.bucket;

    this.redis = new RedisQueue(this, 'Queue', {
      vpc,
      subnets: this.network.isolatedSubnets,
      nodeType: config.redisNodeType,
      replicas: config.redisReplicas,
      name,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      clusterName: name,
      enableFargateCapacityProviders: true,
    });

    const common = { name, image, region: config.region, logRetentionDays: config.logRetentionDays };

    this.workers = new WorkerService(this, 'Workers', {
      ...common,
      cluster: this.cluster,
      redis: this.redis,
      capacity: config.workerCapacity,
      cpu: config.workerCpu,
      memory: config.workerMemory,
      instanceType: config.workerInstanceType,
      maxWorkers: config.maxWorkers,
      shardsPerWorker: config.shardsPerWorker,
      concurrency: config.workerConcurrency,
      // The same prefixes as grantExtract below: a crafted job can make a worker touch nothing else.
      allow: [`s3://${bucket.bucketName}/${PREFIX.input}`, `s3://${bucket.bucketName}/${PREFIX.runs}`],
      scaleToZeroAfterMinutes: config.scaleToZeroAfterMinutes,
      subnets: this.network.taskSubnets,
      assignPublicIp: this.network.assignPublicIp,
    });
    this.data.grantExtract(this.workers.task.taskRole);

    this.coordinator = new CoordinatorTask(this, 'Coordinator', {
      ...common,
      vpc,
      redis: this.redis,
      cpu: config.coordinatorCpu,
      memory: config.coordinatorMemory,
    });
    this.data.grantExtract(this.coordinator.task.taskRole);

    const appRun = config.appRun ?? 'latest';
    this.app = new AppService(this, 'App', {
      ...common,
      cluster: this.cluster,
      runUri: `s3://${bucket.bucketName}/${PREFIX.runs}${appRun}`,
      desiredCount: config.appRun ? 1 : 0,
      cpu: config.appCpu,
      memory: config.appMemory,
      subnets: this.network.taskSubnets,
      assignPublicIp: this.network.assignPublicIp,
      certificateArn: config.appCertificateArn,
    });
    this.data.grantServe(this.app.task.taskRole);

    this.outputs();
  }

  /**
   * The zones from the config, so that synth never looks them up in the account (offline, reproducible).
   * Stack.availabilityZones would otherwise do a context lookup when account and region are known.
   */
  override get availabilityZones(): string[] {
    // `config` is unset only while the base constructor runs.
    return this.config ? [...this.config.availabilityZones] : super.availabilityZones;
  }

  private imageFromRepository(config: FruitsConfig): ecs.ContainerImage {
    const asset = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: REPO_ROOT,
      file: 'Dockerfile',
      // onnxruntime-node and sharp binaries are linux-x64, and so are the Fargate tasks.
      platform: ecrAssets.Platform.LINUX_AMD64,
      buildArgs: { BAKE_MODEL: config.bakeModel ? '1' : '0' },
      // The context is filtered by /.dockerignore (an allow-list), so the asset hash follows only what the image holds.
    });
    return ecs.ContainerImage.fromDockerImageAsset(asset);
  }

  /** `fruits` arguments that start a run of `s3://<bucket>/<input>` into `s3://<bucket>/runs/<run>`. */
  extractCommand(input = 'input/Test', run = 'RUN_NAME'): string[] {
    const bucket = this.data.bucket.bucketName;
    return ['extract', `s3://${bucket}/${input}`, `s3://${bucket}/${PREFIX.runs}${run}`, '--engine', 'bullmq'];
  }

  /** A ready-to-paste `aws ecs run-task` that runs the coordinator task definition with the given `fruits` arguments. */
  runTaskCommand(command: string[]): string {
    const subnets = this.network.vpc.selectSubnets(this.network.taskSubnets).subnetIds.join(',');
    const overrides = JSON.stringify({ containerOverrides: [{ name: this.coordinator.containerName, command }] });
    return [
      'aws ecs run-task',
      `--region ${this.config.region}`,
      `--cluster ${this.cluster.clusterName}`,
      `--task-definition ${this.coordinator.task.taskDefinition.family}`,
      '--launch-type FARGATE',
      '--propagate-tags TASK_DEFINITION',
      `--network-configuration 'awsvpcConfiguration={subnets=[${subnets}],securityGroups=[${this.coordinator.task.securityGroup.securityGroupId}],assignPublicIp=${this.network.assignPublicIp ? 'ENABLED' : 'DISABLED'}}'`,
      `--overrides '${overrides}'`,
    ].join(' ');
  }

  private outputs(): void {
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('Region', this.config.region, 'Region of every resource (data stays here)');
    out('BucketName', this.data.bucket.bucketName, 'Data bucket: input/ (images), runs/<name>/ (results); kept on destroy');
    out('RedisEndpoint', `${this.redis.host}:${this.redis.port}`, 'Redis (TLS + AUTH) primary endpoint, reachable from the tasks only');
    out('RedisAuthSecretArn', this.redis.authToken.secretArn, 'Secrets Manager secret holding the Redis AUTH token (key "password")');
    out('ClusterName', this.cluster.clusterName, 'ECS cluster');
    out('WorkerServiceName', this.workers.service.serviceName, 'Worker service (0 tasks when idle)');
    out('WorkerTaskDefinitionArn', this.workers.task.taskDefinition.taskDefinitionArn, 'Worker task definition');
    out('CoordinatorTaskDefinitionArn', this.coordinator.task.taskDefinition.taskDefinitionArn, 'Coordinator task definition (run-task)');
    out('AppTaskDefinitionArn', this.app.task.taskDefinition.taskDefinitionArn, 'App task definition');
    out('AppUrl', this.app.url, `Fruit app (serves runs/${this.config.appRun ?? '<set -c appRun=NAME>'})`);
    out('CoordinatorLogGroup', this.coordinator.task.logGroup.logGroupName, 'aws logs tail <this> --follow');
    out('WorkerLogGroup', this.workers.task.logGroup.logGroupName, 'aws logs tail <this> --follow');
    out('AppLogGroup', this.app.task.logGroup.logGroupName, 'aws logs tail <this> --follow');
    out('RunTaskCommand', this.runTaskCommand(this.extractCommand()), 'Start a run: replace RUN_NAME (and input/Test), paste');
    out('StatusCommand', this.runTaskCommand(['status']), 'Print the queue status into the coordinator log group');
  }
}
