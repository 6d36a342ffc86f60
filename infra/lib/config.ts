/**
 * Deployment settings of the fruits stack, read from CDK context (`-c key=value` or `cdk.json`).
 *
 * Every setting has a default that gives a small, cheap deployment in Paris (eu-west-3); a wrong
 * value fails `cdk synth` with a message naming the key, never a half-built template.
 */

/** Where the worker tasks run. */
export type WorkerCapacity = 'fargate' | 'fargate-spot' | 'ec2';

export interface FruitsConfig {
  /** Environment name: part of resource names (`fruits-<environment>`) and the `Environment` tag. */
  readonly environment: string;
  /** AWS region. Default eu-west-3 (Paris) so data stays in the EU; never taken from the CLI profile. */
  readonly region: string;
  /** Availability zones (two). Explicit so that synth needs no AWS lookup. Default `<region>a`, `<region>b`. */
  readonly availabilityZones: string[];
  /** NAT gateways: 1 (default) or 0 (tasks then get public IPs in public subnets; no NAT charge). */
  readonly natGateways: number;

  readonly workerCapacity: WorkerCapacity;
  /** Fargate/EC2 task size of one worker: CPU units (1024 = 1 vCPU) and MiB. */
  readonly workerCpu: number;
  readonly workerMemory: number;
  /** EC2 instance type when workerCapacity = ec2. */
  readonly workerInstanceType: string;
  /** Upper bound of the worker autoscaling (the lower bound is always 0). */
  readonly maxWorkers: number;
  /** Backlog per worker the autoscaling aims for: desired workers = ceil(PendingShards / shardsPerWorker). */
  readonly shardsPerWorker: number;
  /** `fruits worker --concurrency N`; undefined leaves the CLI default. */
  readonly workerConcurrency?: number;
  /** Minutes PendingShards must stay 0 (or unreported) before the workers are scaled to zero. */
  readonly scaleToZeroAfterMinutes: number;

  readonly coordinatorCpu: number;
  readonly coordinatorMemory: number;

  /** Run served by the app (`s3://<bucket>/runs/<appRun>`); when unset the app service has 0 tasks. */
  readonly appRun?: string;
  readonly appCpu: number;
  readonly appMemory: number;
  /** ACM certificate ARN for HTTPS on the load balancer; plain HTTP on port 80 when unset. */
  readonly appCertificateArn?: string;

  /** ElastiCache node type and number of replicas (0 = a single primary, cheapest). */
  readonly redisNodeType: string;
  readonly redisReplicas: number;

  /** CloudWatch Logs retention of the task logs, in days. */
  readonly logRetentionDays: number;
  /** Expiry in days of objects under `tmp/` in the bucket. */
  readonly tmpExpiryDays: number;
  /** Bake the ONNX model into the image at build time (docker build arg BAKE_MODEL=1). */
  readonly bakeModel: boolean;
}

/** Something that holds CDK context (an App's or a Stack's `node`). */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Valid Fargate CPU → memory (MiB) combinations for Linux tasks. */
const FARGATE_MEMORY: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

export function isValidFargateSize(cpu: number, memory: number): boolean {
  const check = FARGATE_MEMORY[cpu];
  return check !== undefined && check(memory);
}

/** Context values arrive as strings from `-c key=value` and as JSON values from cdk.json. */
function read(ctx: ContextSource, key: string): unknown {
  const value = ctx.tryGetContext(key);
  return value === '' ? undefined : value;
}

function str(ctx: ContextSource, key: string, fallback: string, pattern?: RegExp): string {
  const value = read(ctx, key);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new ConfigError(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  if (pattern && !pattern.test(value)) throw new ConfigError(`context ${key}=${value} does not match ${pattern}`);
  return value;
}

function optStr(ctx: ContextSource, key: string, pattern?: RegExp): string | undefined {
  const value = read(ctx, key);
  if (value === undefined || value === null) return undefined;
  return str(ctx, key, '', pattern);
}

function int(ctx: ContextSource, key: string, fallback: number, min: number, max: number): number {
  const value = read(ctx, key);
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`context ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function optInt(ctx: ContextSource, key: string, min: number, max: number): number | undefined {
  const value = read(ctx, key);
  if (value === undefined || value === null) return undefined;
  return int(ctx, key, 0, min, max);
}

function bool(ctx: ContextSource, key: string, fallback: boolean): boolean {
  const value = read(ctx, key);
  if (value === undefined || value === null) return fallback;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new ConfigError(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

const NAME = /^[a-z][a-z0-9-]{0,19}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
/** A run name: one path segment under runs/. */
const RUN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function loadConfig(ctx: ContextSource): FruitsConfig {
  const region = str(ctx, 'region', 'eu-west-3', REGION);
  const azs = optStr(ctx, 'availabilityZones');
  const availabilityZones = azs ? azs.split(',').map((s) => s.trim()) : [`${region}a`, `${region}b`];
  if (availabilityZones.length !== 2 || !availabilityZones.every((az) => az.startsWith(region))) {
    throw new ConfigError(`context availabilityZones must be two zones of ${region}, got ${azs}`);
  }

  const capacity = str(ctx, 'workerCapacity', 'fargate');
  if (capacity !== 'fargate' && capacity !== 'fargate-spot' && capacity !== 'ec2') {
    throw new ConfigError(`context workerCapacity must be fargate, fargate-spot or ec2, got ${capacity}`);
  }
  const workerCapacity: WorkerCapacity = capacity;
  const natGateways = int(ctx, 'natGateways', 1, 0, 2);
  if (workerCapacity === 'ec2' && natGateways === 0) {
    // awsvpc tasks on EC2 cannot get a public IP, so they need a NAT to reach ECR, S3 and the model download.
    throw new ConfigError('context workerCapacity=ec2 needs natGateways >= 1');
  }

  const config: FruitsConfig = {
    environment: str(ctx, 'environment', 'dev', NAME),
    region,
    availabilityZones,
    natGateways,
    workerCapacity,
    workerCpu: int(ctx, 'workerCpu', 2048, 256, 16384),
    // On EC2 the agent and OS keep some memory of the instance: 3 GiB fits a 4 GiB instance (c6i.large).
    workerMemory: int(ctx, 'workerMemory', workerCapacity === 'ec2' ? 3072 : 4096, 512, 122880),
    workerInstanceType: str(ctx, 'workerInstanceType', 'c6i.large', /^[a-z0-9-]+\.[a-z0-9]+$/),
    maxWorkers: int(ctx, 'maxWorkers', 10, 1, 500),
    shardsPerWorker: int(ctx, 'shardsPerWorker', 4, 1, 1000),
    workerConcurrency: optInt(ctx, 'workerConcurrency', 1, 64),
    scaleToZeroAfterMinutes: int(ctx, 'scaleToZeroAfterMinutes', 10, 1, 120),
    coordinatorCpu: int(ctx, 'coordinatorCpu', 1024, 256, 16384),
    coordinatorMemory: int(ctx, 'coordinatorMemory', 4096, 512, 122880),
    appRun: optStr(ctx, 'appRun', RUN),
    appCpu: int(ctx, 'appCpu', 1024, 256, 16384),
    appMemory: int(ctx, 'appMemory', 2048, 512, 122880),
    appCertificateArn: optStr(ctx, 'appCertificateArn', /^arn:aws[a-z-]*:acm:/),
    redisNodeType: str(ctx, 'redisNodeType', 'cache.t4g.micro', /^cache\.[a-z0-9]+\.[a-z0-9]+$/),
    redisReplicas: int(ctx, 'redisReplicas', 0, 0, 5),
    logRetentionDays: int(ctx, 'logRetentionDays', 30, 1, 3653),
    tmpExpiryDays: int(ctx, 'tmpExpiryDays', 7, 1, 365),
    bakeModel: bool(ctx, 'bakeModel', false),
  };

  const fargateSizes: [string, number, number][] = [
    ['coordinator', config.coordinatorCpu, config.coordinatorMemory],
    ['app', config.appCpu, config.appMemory],
  ];
  if (workerCapacity !== 'ec2') fargateSizes.push(['worker', config.workerCpu, config.workerMemory]);
  for (const [what, cpu, memory] of fargateSizes) {
    if (!isValidFargateSize(cpu, memory)) {
      throw new ConfigError(
        `${what}: ${cpu} CPU units with ${memory} MiB is not a Fargate task size ` +
          `(see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)`,
      );
    }
  }
  return config;
}
