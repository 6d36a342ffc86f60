/** Deployment options (CDK context) and the scaling arithmetic. Offline. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match } from 'aws-cdk-lib/assertions';
import { ConfigError, isValidFargateSize, loadConfig } from '../lib/config.js';
import { scaleOutSteps } from '../lib/constructs/worker-service.js';
import { synth } from './helpers.js';

const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('config', () => {
  it('defaults to a small deployment in Paris', () => {
    const c = loadConfig(ctx({}));
    assert.equal(c.region, 'eu-west-3');
    assert.deepEqual(c.availabilityZones, ['eu-west-3a', 'eu-west-3b']);
    assert.equal(c.environment, 'dev');
    assert.equal(c.workerCapacity, 'fargate');
    assert.equal(c.natGateways, 1);
    assert.equal(c.redisNodeType, 'cache.t4g.micro');
    assert.equal(c.logRetentionDays, 30);
    assert.equal(c.appRun, undefined);
  });

  it('reads -c strings and cdk.json values alike', () => {
    const c = loadConfig(ctx({ maxWorkers: '40', workerCpu: 4096, workerMemory: '8192', bakeModel: 'true' }));
    assert.equal(c.maxWorkers, 40);
    assert.equal(c.workerCpu, 4096);
    assert.equal(c.workerMemory, 8192);
    assert.equal(c.bakeModel, true);
  });

  it('rejects what would fail at deploy time, naming the key', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ maxWorkers: '0' }, /maxWorkers/],
      [{ maxWorkers: 'ten' }, /maxWorkers/],
      [{ workerCpu: '2048', workerMemory: '1024' }, /worker: 2048 CPU units with 1024 MiB/],
      [{ workerCapacity: 'lambda' }, /workerCapacity/],
      [{ workerCapacity: 'ec2', natGateways: '0' }, /natGateways/],
      [{ environment: 'Prod!' }, /environment/],
      [{ region: 'paris' }, /region/],
      [{ availabilityZones: 'eu-west-1a,eu-west-1b' }, /availabilityZones/],
      [{ appRun: '../etc' }, /appRun/],
      [{ bakeModel: 'maybe' }, /bakeModel/],
    ];
    for (const [values, message] of bad)
      assert.throws(
        () => loadConfig(ctx(values)),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
        JSON.stringify(values),
      );
  });

  it('knows the Fargate task sizes', () => {
    assert.ok(isValidFargateSize(2048, 4096));
    assert.ok(isValidFargateSize(256, 512));
    assert.ok(!isValidFargateSize(256, 4096));
    assert.ok(!isValidFargateSize(3000, 4096));
  });
});

describe('scale-out steps', () => {
  /** Capacity the policy sets for a given PendingShards (alarm threshold 1, bounds relative to it). */
  const capacityFor = (steps: ReturnType<typeof scaleOutSteps>, pending: number) =>
    steps.find((s) => pending - 1 >= s.lowerBound && (s.upperBound === undefined || pending - 1 < s.upperBound))?.capacity;

  it('is ceil(pending / shardsPerWorker), capped at maxWorkers', () => {
    const steps = scaleOutSteps(10, 4);
    assert.equal(steps.length, 10);
    for (let pending = 1; pending <= 100; pending++) {
      assert.equal(capacityFor(steps, pending), Math.min(10, Math.ceil(pending / 4)), `pending ${pending}`);
    }
  });

  it('stays within 20 steps and never under-provisions for many workers', () => {
    const steps = scaleOutSteps(100, 2);
    assert.equal(steps.length, 20);
    assert.equal(steps[steps.length - 1].capacity, 100);
    for (let pending = 1; pending <= 400; pending++) {
      const c = capacityFor(steps, pending)!;
      assert.ok(c >= Math.min(100, Math.ceil(pending / 2)) && c <= 100, `pending ${pending} → ${c}`);
    }
  });

  it('contiguous intervals, first at 0, last open-ended', () => {
    for (const [max, per] of [
      [1, 1],
      [3, 5],
      [20, 1],
      [57, 3],
    ]) {
      const steps = scaleOutSteps(max, per);
      assert.equal(steps[0].lowerBound, 0);
      assert.equal(steps[steps.length - 1].upperBound, undefined);
      for (let i = 1; i < steps.length; i++) assert.equal(steps[i].lowerBound, steps[i - 1].upperBound);
    }
  });
});

describe('deployment variants', () => {
  // Three synths cover the options (synth takes a second or two each).
  const certificate = 'arn:aws:acm:eu-west-3:123456789012:certificate/00000000-0000-0000-0000-000000000000';
  const prod = synth({ environment: 'prod', workerCapacity: 'fargate-spot', appCertificateArn: certificate, redisReplicas: '1' });
  const ec2 = synth({ workerCapacity: 'ec2', workerInstanceType: 'c6i.xlarge', maxWorkers: '5' });
  const noNat = synth({ natGateways: '0' });

  it('no appRun: the app service exists with 0 tasks', () => {
    prod.template.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'fruits-prod-app', DesiredCount: 0 });
  });

  it('fargate-spot workers use the FARGATE_SPOT capacity provider', () => {
    prod.template.hasResourceProperties('AWS::ECS::Service', {
      ServiceName: 'fruits-prod-worker',
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
    });
  });

  it('a certificate switches the load balancer to HTTPS with a redirect from HTTP', () => {
    prod.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTPS',
      Port: 443,
      Certificates: [{ CertificateArn: certificate }],
    });
    prod.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'redirect' })],
    });
    assert.match(JSON.stringify(prod.template.toJSON().Outputs.AppUrl.Value), /https:\/\//);
  });

  it('replicas turn on multi-AZ fail-over; environment names the resources and the tag', () => {
    prod.template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      NumCacheClusters: 2,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
    });
    prod.template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'fruits-prod',
      Tags: Match.arrayWith([{ Key: 'Environment', Value: 'prod' }]),
    });
  });

  it('ec2 workers: an instance group of the chosen type from 0 to maxWorkers, managed by ECS', () => {
    const { template } = ec2;
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c6i.xlarge',
        MetadataOptions: Match.objectLike({ HttpTokens: 'required' }),
      }),
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '5' });
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({ ManagedScaling: Match.objectLike({ Status: 'ENABLED' }) }),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'fruits-dev-worker',
      RequiresCompatibilities: ['EC2'],
      NetworkMode: 'awsvpc',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 5 });
  });

  it('natGateways=0: no NAT, tasks in public subnets with a public IP, Redis still isolated', () => {
    const { template, stack } = noNat;
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const publicSubnets = stack.network.vpc.publicSubnets.map((s) => stack.resolve(s.subnetId));
    template.hasResourceProperties('AWS::ECS::Service', {
      ServiceName: 'fruits-dev-worker',
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED', Subnets: publicSubnets }) },
    });
    const isolated = stack.network.vpc.isolatedSubnets.map((s) => stack.resolve(s.subnetId));
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: isolated });
    assert.match(JSON.stringify(template.toJSON().Outputs.RunTaskCommand.Value), /assignPublicIp=ENABLED/);
  });
});
