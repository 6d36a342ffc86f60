import { Construct } from 'constructs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RedisQueue } from './redis-queue.js';

/** Paths inside the image (see the Dockerfile): the only writable places of a read-only root file system. */
export const CONTAINER_PATHS = {
  /** $XDG_CACHE_HOME: the model is cached under <this>/fruits. */
  cache: '/home/node/.cache',
  tmp: '/tmp',
} as const;

export interface FruitsTaskProps {
  /** worker | coordinator | app: container name, log stream prefix, part of family and log group names. */
  readonly role: 'worker' | 'coordinator' | 'app';
  /** Resource name prefix, e.g. fruits-dev. */
  readonly name: string;
  readonly vpc: ec2.IVpc;
  readonly image: ecs.ContainerImage;
  readonly cpu: number;
  readonly memory: number;
  /** ec2: an EC2-compatible task definition (awsvpc) for the EC2 capacity option of the workers. */
  readonly compatibility: 'fargate' | 'ec2';
  readonly region: string;
  /** Arguments of the `fruits` entrypoint. */
  readonly command?: string[];
  /** Environment of this role on top of the shared one (AWS_REGION, NODE_ENV, XDG_CACHE_HOME, Redis). */
  readonly environment?: Record<string, string>;
  /** Redis the task talks to; also opens the security groups both ways. */
  readonly redis?: RedisQueue;
  readonly logRetentionDays: number;
  /** Container port (the app). */
  readonly port?: number;
  /** SIGTERM → SIGKILL grace period (Fargate: at most 120 s). */
  readonly stopTimeout?: Duration;
}

/**
 * A task definition for one role of the `fruits` image, with everything the roles share:
 * its own task role (no permissions until granted), its own security group (HTTPS out, Redis out),
 * a log group with retention, awslogs logging, a read-only root file system with two scratch volumes
 * (model cache, /tmp), an init process that forwards SIGTERM, and the Redis connection as environment
 * (the AUTH token injected from Secrets Manager by the execution role, never in the template).
 */
export class FruitsTask extends Construct {
  readonly taskDefinition: ecs.TaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: FruitsTaskProps) {
    super(scope, id);

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `${props.name} ${props.role} task: what the fruits process itself may do`,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/${props.name}/${props.role}`,
      retention: retentionDays(props.logRetentionDays),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${props.name} ${props.role} tasks`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: S3, ECR, CloudWatch Logs, Secrets Manager, model download');

    const fargate = props.compatibility === 'fargate';
    this.taskDefinition = fargate
      ? new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
          family: `${props.name}-${props.role}`,
          cpu: props.cpu,
          memoryLimitMiB: props.memory,
          taskRole: this.taskRole,
          // onnxruntime-node and sharp ship linux-x64 binaries; the image is built for linux/amd64.
          runtimePlatform: {
            cpuArchitecture: ecs.CpuArchitecture.X86_64,
            operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
          },
        })
      : new ecs.Ec2TaskDefinition(this, 'TaskDefinition', {
          family: `${props.name}-${props.role}`,
          networkMode: ecs.NetworkMode.AWS_VPC,
          taskRole: this.taskRole,
        });

    const environment: Record<string, string> = {
      AWS_REGION: props.region,
      NODE_ENV: 'production',
      XDG_CACHE_HOME: CONTAINER_PATHS.cache,
      ...props.environment,
    };
    const secrets: Record<string, ecs.Secret> = {};
    if (props.redis) {
      // The image's entrypoint builds FRUITS_REDIS_URL=rediss://:<password>@<host>:<port> from these.
      environment.FRUITS_REDIS_HOST = props.redis.host;
      environment.FRUITS_REDIS_PORT = props.redis.port;
      environment.FRUITS_REDIS_TLS = 'true';
      secrets.FRUITS_REDIS_PASSWORD = ecs.Secret.fromSecretsManager(props.redis.authToken, RedisQueue.PASSWORD_KEY);
      props.redis.allowFrom(this.securityGroup, `${props.name} ${props.role}`);
    }

    this.container = this.taskDefinition.addContainer(props.role, {
      containerName: props.role,
      image: props.image,
      command: props.command,
      environment,
      secrets,
      essential: true,
      readonlyRootFilesystem: true,
      stopTimeout: props.stopTimeout,
      linuxParameters: new ecs.LinuxParameters(this, 'Linux', { initProcessEnabled: true }),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: props.role }),
      portMappings: props.port ? [{ containerPort: props.port, protocol: ecs.Protocol.TCP }] : undefined,
      // EC2 task definitions size the container instead of the task.
      cpu: fargate ? undefined : props.cpu,
      memoryLimitMiB: fargate ? undefined : props.memory,
    });

    for (const [name, containerPath] of Object.entries(CONTAINER_PATHS)) {
      // No host path: task-local scratch storage (Fargate ephemeral storage / a Docker volume on EC2).
      this.taskDefinition.addVolume({ name });
      this.container.addMountPoints({ sourceVolume: name, containerPath, readOnly: false });
    }
  }

  /** The task definition as a Fargate one (the app and coordinator are Fargate-only). */
  get fargateTaskDefinition(): ecs.FargateTaskDefinition {
    if (!(this.taskDefinition instanceof ecs.FargateTaskDefinition)) {
      throw new Error(`${this.node.path}: not a Fargate task definition`);
    }
    return this.taskDefinition;
  }
}

const RETENTION: Record<number, logs.RetentionDays> = Object.fromEntries(
  Object.values(logs.RetentionDays)
    .filter((v): v is logs.RetentionDays => typeof v === 'number' && v > 0 && v !== logs.RetentionDays.INFINITE)
    .map((v) => [v, v]),
);

/** CloudWatch accepts only some retention periods (1, 3, 5, 7, 14, 30, …): take the next one up. */
export function retentionDays(days: number): logs.RetentionDays {
  if (RETENTION[days] !== undefined) return RETENTION[days];
  const allowed = Object.keys(RETENTION)
    .map(Number)
    .sort((a, b) => a - b);
  const next = allowed.find((d) => d >= days) ?? allowed[allowed.length - 1];
  return RETENTION[next];
}
