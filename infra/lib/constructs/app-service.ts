import { Construct } from 'constructs';
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { FruitsTask } from './fruits-task.js';

export const APP_PORT = 8080;
export const HEALTH_CHECK_PATH = '/healthz';

export interface AppServiceProps {
  readonly name: string;
  readonly cluster: ecs.Cluster;
  readonly image: ecs.ContainerImage;
  /** s3://<bucket>/runs/<name>: the finished run the app serves. */
  readonly runUri: string;
  /** 0 until there is a run to serve (a service that cannot become healthy would block the deployment). */
  readonly desiredCount: number;
  readonly cpu: number;
  readonly memory: number;
  readonly region: string;
  readonly logRetentionDays: number;
  readonly subnets: ec2.SubnetSelection;
  readonly assignPublicIp: boolean;
  readonly certificateArn?: string;
}

/** The fruit-identification web app: `fruits serve` behind a public Application Load Balancer. */
export class AppService extends Construct {
  readonly task: FruitsTask;
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly url: string;

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id);
    this.task = new FruitsTask(this, 'Task', {
      role: 'app',
      name: props.name,
      vpc: props.cluster.vpc,
      image: props.image,
      cpu: props.cpu,
      memory: props.memory,
      compatibility: 'fargate',
      region: props.region,
      command: ['serve', '--run', props.runUri, '--port', String(APP_PORT)],
      logRetentionDays: props.logRetentionDays,
      port: APP_PORT,
      stopTimeout: Duration.seconds(30),
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      serviceName: `${props.name}-app`,
      taskDefinition: this.task.fargateTaskDefinition,
      desiredCount: props.desiredCount,
      securityGroups: [this.task.securityGroup],
      vpcSubnets: props.subnets,
      assignPublicIp: props.assignPublicIp,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
      // A run that cannot be served fails the deployment in minutes instead of retrying for hours.
      circuitBreaker: { rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.cluster.vpc,
      internetFacing: true,
      loadBalancerName: `${props.name}-app`,
      dropInvalidHeaderFields: true,
      deletionProtection: false,
    });

    const https = props.certificateArn !== undefined;
    const listener = https
      ? this.loadBalancer.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn!)],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        })
      : this.loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP });
    if (https) this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });

    listener.addTargets('App', {
      port: APP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      deregistrationDelay: Duration.seconds(15),
      healthCheck: {
        path: HEALTH_CHECK_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
      },
    });

    this.url = `${https ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}`;
  }
}
