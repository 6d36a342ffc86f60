import { Construct } from 'constructs';
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

export interface NetworkProps {
  readonly availabilityZones: string[];
  /** 1: one NAT gateway shared by both zones. 0: no NAT; tasks run in public subnets with a public IP. */
  readonly natGateways: number;
}

/**
 * The VPC: two zones, public subnets (load balancer, NAT), private subnets with egress (tasks)
 * and isolated subnets (Redis, no route out at all).
 *
 * Why one NAT gateway and not interface endpoints: the tasks need ECR, CloudWatch Logs, Secrets Manager,
 * and the internet once per task for the model download (unless it is baked into the image). Endpoints
 * for ECR api + ECR dkr + Logs + Secrets Manager in two zones cost about 8 × $0.01/h, more than one NAT
 * gateway (about $0.05/h), and would still not reach the model weights. S3 — the heavy traffic — goes
 * through a free gateway endpoint, so images never pay NAT data processing. One NAT is a single-zone
 * dependency for egress; acceptable for batch work that retries (natGateways=2 for zone independence).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the tasks run. */
  readonly taskSubnets: ec2.SubnetSelection;
  /** Whether tasks need a public IP to reach the internet (no NAT). */
  readonly assignPublicIp: boolean;
  /** Where Redis runs: no route to or from the internet. */
  readonly isolatedSubnets: ec2.SubnetSelection;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const withNat = props.natGateways > 0;
    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ];
    if (withNat) subnetConfiguration.push({ name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
      availabilityZones: props.availabilityZones,
      natGateways: props.natGateways,
      subnetConfiguration,
      // Nothing uses the default security group; leaving it as is avoids a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    // S3 traffic stays on the AWS network and pays no NAT processing. The endpoint policy is left open on
    // purpose: ECR image layers are served from an AWS-owned S3 bucket through this same endpoint.
    // Access to the data bucket is limited by the task roles and the bucket policy instead.
    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'Zones are explicit (context availabilityZones) so that synth needs no account lookup',
    });
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });

    this.taskSubnets = { subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC };
    this.assignPublicIp = !withNat;
    this.isolatedSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  }
}
