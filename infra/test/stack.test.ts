/**
 * The security and cost properties of the fruits stack, checked on the synthesized CloudFormation template.
 * Offline: no AWS account, no network, no lookups.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { asArray, resourcesOfType, statementsOfRole, synth, type Json } from './helpers.js';

const MAX_WORKERS = 7;
const { app, stack, template } = synth({ maxWorkers: String(MAX_WORKERS), appRun: 'demo' });
const roleId = (role: unknown) => stack.getLogicalId((role as { node: { defaultChild: CfnRole } }).node.defaultChild);

describe('data bucket', () => {
  it('is encrypted, blocks all public access, and is kept on destroy', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      },
    });
  });

  it('denies every request that is not TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires temporary data and aborts forgotten multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'tmp/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
        ]),
      },
    });
  });

  it('is the only resource kept by cdk destroy', () => {
    const kept = Object.entries(template.toJSON().Resources as Record<string, Json>)
      .filter(([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'Snapshot')
      .map(([, r]) => r.Type);
    assert.deepEqual(kept, ['AWS::S3::Bucket']);
  });
});

describe('redis (BullMQ)', () => {
  it('uses TLS in transit, an AUTH token from Secrets Manager and encryption at rest', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      EngineVersion: Match.stringLikeRegexp('^7'),
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AuthToken: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^\\{\\{resolve:secretsmanager:')])],
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password', ExcludePunctuation: true }),
    });
  });

  it('never evicts keys (maxmemory-policy noeviction)', () => {
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'redis7',
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
  });

  it('admits only the worker and coordinator security groups, on 6379', () => {
    const redisSg = stack.getLogicalId(stack.redis.securityGroup.node.defaultChild as never);
    const ingress = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
      .map(([, r]) => r.Properties)
      .filter((p) => p.GroupId?.['Fn::GetAtt']?.[0] === redisSg);
    const sources = ingress.map((p) => p.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    const expected = [stack.workers.task.securityGroup, stack.coordinator.task.securityGroup]
      .map((sg) => stack.getLogicalId(sg.node.defaultChild as never))
      .sort();
    assert.deepEqual(sources, expected);
    for (const p of ingress) assert.deepEqual([p.IpProtocol, p.FromPort, p.ToPort], ['tcp', 6379, 6379]);
    const inline = template.toJSON().Resources[redisSg].Properties.SecurityGroupIngress;
    assert.equal(inline, undefined, 'no inline (CIDR) ingress on the Redis security group');
  });

  it('lives in isolated subnets', () => {
    const isolated = stack.network.vpc.isolatedSubnets.map((s) => stack.resolve(s.subnetId));
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: isolated });
  });
});

describe('least privilege', () => {
  const taskRoles = {
    worker: roleId(stack.workers.task.taskRole),
    coordinator: roleId(stack.coordinator.task.taskRole),
    app: roleId(stack.app.task.taskRole),
  };

  for (const [role, id] of Object.entries(taskRoles)) {
    it(`${role} task role: no "*" action, no S3 statement on "*"`, () => {
      const statements = statementsOfRole(template, id);
      assert.ok(statements.length > 0);
      for (const s of statements) {
        const actions = asArray<string>(s.Action);
        assert.ok(!actions.some((a) => a === '*' || a.endsWith(':*')), `wildcard action in ${JSON.stringify(s)}`);
        assert.ok(asArray(s.NotAction).length === 0 && asArray(s.NotResource).length === 0);
        assert.ok(!asArray(s.Resource).includes('*'), `"*" resource in ${JSON.stringify(s)}`);
        assert.ok(
          actions.every((a) => a.startsWith('s3:')),
          `only S3 actions: ${actions}`,
        );
      }
    });
  }

  const grants = (id: string) =>
    Object.fromEntries(
      statementsOfRole(template, id).map((s) => [
        asArray<string>(s.Action).sort().join(','),
        JSON.stringify(stack.resolve(s.Resource)) + (s.Condition ? JSON.stringify(s.Condition) : ''),
      ]),
    );

  it('worker: reads input/*, reads and writes runs/*, lists only those prefixes', () => {
    const g = grants(taskRoles.worker);
    assert.deepEqual(Object.keys(g).sort(), ['s3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:PutObject', 's3:GetObject', 's3:ListBucket']);
    assert.match(g['s3:GetObject'], /\/input\/\*/);
    assert.match(g['s3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:PutObject'], /\/runs\/\*/);
    assert.match(g['s3:ListBucket'], /"s3:prefix":\["input\/","input\/\*","runs\/","runs\/\*"\]/);
  });

  it('app: reads runs/*, writes only runs/*/feedback/*', () => {
    const g = grants(taskRoles.app);
    assert.deepEqual(Object.keys(g).sort(), ['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    assert.match(g['s3:GetObject'], /\/runs\/\*"/);
    assert.match(g['s3:PutObject'], /\/runs\/\*\/feedback\/\*"/);
    assert.match(g['s3:ListBucket'], /"s3:prefix":\["runs\/","runs\/\*"\]\}/);
  });

  it('execution roles read only the Redis secret, and only workers and coordinator get it', () => {
    const secret = stack.getLogicalId(stack.redis.authToken.node.defaultChild as never);
    const readers = resourcesOfType(template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.PolicyDocument.Statement as Json[]).some((s) => asArray<string>(s.Action).includes('secretsmanager:GetSecretValue')))
      .map(([id, p]) => {
        for (const s of p.Properties.PolicyDocument.Statement as Json[]) {
          if (asArray<string>(s.Action).includes('secretsmanager:GetSecretValue')) {
            assert.deepEqual(s.Resource, { Ref: secret });
          }
        }
        return id;
      });
    assert.equal(readers.length, 2);
    assert.ok(
      readers.every((id) => /^(Workers|Coordinator)/.test(id)),
      readers.join(),
    );
  });

  it('the only "*" resource anywhere is ecr:GetAuthorizationToken (it cannot be scoped)', () => {
    for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
      for (const s of policy.Properties.PolicyDocument.Statement as Json[]) {
        if (asArray(s.Resource).includes('*')) assert.deepEqual(asArray(s.Action), ['ecr:GetAuthorizationToken']);
      }
    }
  });
});

describe('workers', () => {
  it('start at 0 and scale between 0 and maxWorkers', () => {
    template.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'fruits-dev-worker', DesiredCount: 0 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: MAX_WORKERS,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
  });

  it('scale out on Fruits/PendingShards{Queue=shards} ≥ 1 within a minute, to exact backlog-based capacities', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Fruits',
      MetricName: 'PendingShards',
      Dimensions: [{ Name: 'Queue', Value: 'shards' }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 60,
      TreatMissingData: 'notBreaching',
    });
    const [, policy] = resourcesOfType(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').find(([id]) => id.includes('FollowBacklog'))!;
    const config = policy.Properties.StepScalingPolicyConfiguration;
    assert.equal(config.AdjustmentType, 'ExactCapacity');
    const capacities = (config.StepAdjustments as Json[]).map((s) => s.ScalingAdjustment);
    assert.equal(capacities[0], 1, 'one pending shard starts one worker');
    assert.equal(capacities[capacities.length - 1], MAX_WORKERS);
  });

  it('scale to zero after 10 minutes without pending shards (missing data counts as idle)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PendingShards',
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Threshold: 0,
      EvaluationPeriods: 10,
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: {
        AdjustmentType: 'ExactCapacity',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
      },
    });
  });

  it('run on Fargate x86_64 with the configured size, a read-only root and SIGTERM grace', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'fruits-dev-worker',
      Cpu: '2048',
      Memory: '4096',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Command: ['worker'],
          ReadonlyRootFilesystem: true,
          StopTimeout: 120,
          LinuxParameters: Match.objectLike({ InitProcessEnabled: true }),
          Environment: Match.arrayWith([
            { Name: 'AWS_REGION', Value: 'eu-west-3' },
            { Name: 'FRUITS_REDIS_TLS', Value: 'true' },
          ]),
          Secrets: [Match.objectLike({ Name: 'FRUITS_REDIS_PASSWORD' })],
        }),
      ],
    });
  });

  it("accept only the data bucket's input/ and runs/ (FRUITS_ALLOW): a worker's default is its current directory", () => {
    const workers = resourcesOfType(template, 'AWS::ECS::TaskDefinition').filter(([, t]) => t.Properties.Family === 'fruits-dev-worker');
    assert.equal(workers.length, 1);
    const env = workers[0][1].Properties.ContainerDefinitions[0].Environment as Json[];
    const allow = env.find((e) => e.Name === 'FRUITS_ALLOW');
    assert.ok(allow, 'the worker task sets FRUITS_ALLOW');
    const [, parts] = allow.Value['Fn::Join'] as [string, unknown[]];
    const text = parts.map((p) => (typeof p === 'string' ? p : '<bucket>')).join('');
    assert.equal(text, 's3://<bucket>/input/,s3://<bucket>/runs/');
    const bucketRefs = parts.filter((p) => typeof p !== 'string') as Json[];
    const [bucketId] = resourcesOfType(template, 'AWS::S3::Bucket').map(([id]) => id);
    assert.ok(
      bucketRefs.every((r) => r.Ref === bucketId),
      JSON.stringify(bucketRefs),
    );
  });
});

describe('coordinator and app', () => {
  it('has a one-off coordinator task definition and a ready-to-paste run-task command', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Family: 'fruits-dev-coordinator' });
    const command = JSON.stringify(template.toJSON().Outputs.RunTaskCommand.Value);
    for (const part of ['aws ecs run-task', '--task-definition fruits-dev-coordinator', 'awsvpcConfiguration=', 'containerOverrides']) {
      assert.ok(command.includes(part), part);
    }
    assert.match(command, /\\"extract\\",\\"s3:\/\//);
    assert.match(command, /\/runs\/RUN_NAME\\",\\"--engine\\",\\"bullmq\\"/);
    // Only the coordinator runs outside a service: there is exactly one service per long-running role.
    template.resourceCountIs('AWS::ECS::Service', 2);
  });

  it('serves the chosen run behind a load balancer with a /healthz health check', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'fruits-dev-app',
      ContainerDefinitions: [
        Match.objectLike({
          Command: ['serve', '--run', { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/runs/demo']] }, '--port', '8080'],
          PortMappings: [{ ContainerPort: 8080, Protocol: 'tcp' }],
        }),
      ],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/healthz',
      Port: 8080,
      Matcher: { HttpCode: '200' },
      TargetType: 'ip',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'fruits-dev-app', DesiredCount: 1 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' }]),
    });
    // App tasks accept traffic only from the load balancer, only on 8080.
    const appSg = stack.getLogicalId(stack.app.task.securityGroup.node.defaultChild as never);
    const lbSg = stack.getLogicalId(stack.app.loadBalancer.connections.securityGroups[0].node.defaultChild as never);
    const ingress = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
      .map(([, r]) => r.Properties)
      .filter((p) => p.GroupId?.['Fn::GetAtt']?.[0] === appSg);
    assert.deepEqual(
      ingress.map((p) => [p.SourceSecurityGroupId['Fn::GetAtt'][0], p.FromPort, p.ToPort]),
      [[lbSg, 8080, 8080]],
    );
  });

  it('app tasks cannot reach Redis and get no Redis secret', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'fruits-dev-app',
      ContainerDefinitions: [Match.objectLike({ Secrets: Match.absent() })],
    });
  });
});

describe('network, logs, tags, outputs', () => {
  it('is in eu-west-3, in two zones, with one NAT gateway and an S3 gateway endpoint', () => {
    assert.equal(stack.region, 'eu-west-3');
    assert.equal(template.toJSON().Outputs.Region.Value, 'eu-west-3');
    const zones = new Set(resourcesOfType(template, 'AWS::EC2::Subnet').map(([, s]) => s.Properties.AvailabilityZone));
    assert.deepEqual([...zones].sort(), ['eu-west-3a', 'eu-west-3b']);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('s3$')])] },
    });
  });

  it('synthesizes without any context lookup (offline, reproducible)', () => {
    const assembly = app.synth();
    assert.equal(assembly.manifest.missing, undefined);
  });

  it('keeps logs 30 days in log groups deleted with the stack, via awslogs', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    assert.equal(groups.length, 3);
    for (const [, g] of groups) {
      assert.equal(g.Properties.RetentionInDays, 30);
      assert.equal(g.DeletionPolicy, 'Delete');
    }
    for (const [, td] of resourcesOfType(template, 'AWS::ECS::TaskDefinition')) {
      for (const c of td.Properties.ContainerDefinitions as Json[]) assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
    }
  });

  it('tags every taggable resource with Project=fruits and Environment', () => {
    const taggable = [
      'AWS::S3::Bucket',
      'AWS::EC2::VPC',
      'AWS::ECS::Cluster',
      'AWS::ECS::Service',
      'AWS::ECS::TaskDefinition',
      'AWS::ElastiCache::ReplicationGroup',
      'AWS::SecretsManager::Secret',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::IAM::Role',
      'AWS::EC2::SecurityGroup',
      'AWS::EC2::NatGateway',
      'AWS::Logs::LogGroup',
    ];
    for (const type of taggable) {
      const found = resourcesOfType(template, type);
      assert.ok(found.length > 0, type);
      for (const [id, r] of found) {
        const tags = Object.fromEntries(((r.Properties.Tags as Json[] | undefined) ?? []).map((t) => [t.Key, t.Value]));
        assert.equal(tags.Project, 'fruits', `${type} ${id}`);
        assert.equal(tags.Environment, 'dev', `${type} ${id}`);
      }
    }
  });

  it('outputs what the runbook needs', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    for (const name of [
      'BucketName',
      'RedisEndpoint',
      'ClusterName',
      'WorkerTaskDefinitionArn',
      'CoordinatorTaskDefinitionArn',
      'AppTaskDefinitionArn',
      'AppUrl',
      'RunTaskCommand',
      'StatusCommand',
      'CoordinatorLogGroup',
      'WorkerLogGroup',
    ]) {
      assert.ok(outputs.includes(name), name);
    }
  });

  it('puts no secret value in the template', () => {
    const json = JSON.stringify(template.toJSON());
    assert.doesNotMatch(json, /rediss?:\/\/:/);
    assert.doesNotMatch(json, /AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}/);
  });
});
