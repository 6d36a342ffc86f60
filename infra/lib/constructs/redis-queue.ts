import { Construct } from 'constructs';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

export interface RedisQueueProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** e.g. cache.t4g.micro */
  readonly nodeType: string;
  /** Read replicas; with 1 or more, automatic fail-over across the two zones is on. */
  readonly replicas: number;
  /** Name prefix of the Redis resources, e.g. fruits-dev. */
  readonly name: string;
}

export const REDIS_PORT = 6379;

/**
 * Redis (ElastiCache, Redis OSS 7) holding the BullMQ queues.
 *
 * - TLS in transit and an AUTH token generated into Secrets Manager (key `password`), encryption at rest.
 * - `maxmemory-policy noeviction`: BullMQ must never lose a key to eviction; a full Redis errors instead.
 * - Isolated subnets, and a security group that admits only the security groups passed to `allowFrom`.
 */
export class RedisQueue extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly authToken: secretsmanager.Secret;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** Secret JSON key holding the AUTH token. */
  static readonly PASSWORD_KEY = 'password';

  constructor(scope: Construct, id: string, props: RedisQueueProps) {
    super(scope, id);

    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: `AUTH token of the ${props.name} Redis (BullMQ)`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: RedisQueue.PASSWORD_KEY,
        // ElastiCache AUTH tokens: 16–128 printable characters without / " @. Alphanumeric also needs no
        // URL escaping in rediss://:<token>@host:6379.
        excludePunctuation: true,
        passwordLength: 64,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${props.name} Redis: port ${REDIS_PORT} from the fruits tasks only`,
      allowAllOutbound: false,
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `${props.name} Redis subnets`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    const parameters = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: 'redis7',
      description: `${props.name}: BullMQ needs noeviction`,
      properties: { 'maxmemory-policy': 'noeviction' },
    });

    const multiAz = props.replicas > 0;
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `${props.name} BullMQ queues`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: props.nodeType,
      numCacheClusters: 1 + props.replicas,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: REDIS_PORT,
      cacheParameterGroupName: parameters.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A CloudFormation dynamic reference: the token itself never appears in the template.
      authToken: this.authToken.secretValueFromJson(RedisQueue.PASSWORD_KEY).unsafeUnwrap(),
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: 0,
    });
  }

  /** Host name of the primary (writes; BullMQ needs it). */
  get host(): string {
    return this.replicationGroup.attrPrimaryEndPointAddress;
  }

  /** Port of the primary, as a string (CloudFormation attribute). */
  get port(): string {
    return this.replicationGroup.attrPrimaryEndPointPort;
  }

  /** Admit a task security group to Redis, and only to Redis's port. */
  allowFrom(peer: ec2.SecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(REDIS_PORT), description);
    peer.addEgressRule(this.securityGroup, ec2.Port.tcp(REDIS_PORT), `${description}: to Redis`);
  }
}
