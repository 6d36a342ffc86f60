import { Construct } from 'constructs';
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FruitsTask } from './fruits-task.js';
import type { RedisQueue } from './redis-queue.js';

export interface CoordinatorTaskProps {
  readonly name: string;
  readonly vpc: ec2.IVpc;
  readonly image: ecs.ContainerImage;
  readonly redis: RedisQueue;
  readonly cpu: number;
  readonly memory: number;
  readonly region: string;
  readonly logRetentionDays: number;
}

/**
 * The coordinator of a run: a one-off Fargate task, started with `aws ecs run-task` and a command override
 * (`extract s3://<bucket>/input/<set> s3://<bucket>/runs/<name> --engine bullmq`). It lists the input,
 * enqueues the shards, reports PendingShards while it waits (the signal that wakes the workers), fits the
 * PCA, and writes runs/<name>/_SUCCESS. No service: nothing runs between runs.
 */
export class CoordinatorTask extends Construct {
  readonly task: FruitsTask;

  constructor(scope: Construct, id: string, props: CoordinatorTaskProps) {
    super(scope, id);
    this.task = new FruitsTask(this, 'Task', {
      role: 'coordinator',
      name: props.name,
      vpc: props.vpc,
      image: props.image,
      cpu: props.cpu,
      memory: props.memory,
      compatibility: 'fargate',
      region: props.region,
      // Overridden by run-task; without an override the task prints the queue status and exits.
      command: ['status'],
      redis: props.redis,
      logRetentionDays: props.logRetentionDays,
      stopTimeout: Duration.seconds(60),
    });
  }

  /** The container name to use in `--overrides '{"containerOverrides":[{"name": …}]}'`. */
  get containerName(): string {
    return this.task.container.containerName;
  }
}
