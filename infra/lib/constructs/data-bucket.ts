import { Construct } from 'constructs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';

/** Key prefixes of the bucket layout. Every IAM grant below is written in terms of these. */
export const PREFIX = {
  /** Images to featurize, e.g. input/Test/Apple Braeburn/0_100.jpg. Read-only for every task. */
  input: 'input/',
  /** One folder per run: runs/<name>/ (results/*.parquet, pca, _SUCCESS, _tmp/ moments). */
  runs: 'runs/',
  /** Scratch data that expires on its own. */
  tmp: 'tmp/',
} as const;

export interface DataBucketProps {
  /** Days after which objects under tmp/ are deleted. */
  readonly tmpExpiryDays: number;
}

/**
 * The shared storage of the cluster: input images and run outputs.
 * Kept when the stack is destroyed (RemovalPolicy.RETAIN): results outlive the compute.
 */
export class DataBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      lifecycleRules: [
        {
          id: 'expire-tmp',
          prefix: PREFIX.tmp,
          expiration: Duration.days(props.tmpExpiryDays),
        },
        {
          // Parts of multipart uploads (large Parquet files) left behind by a task that was killed.
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /** `arn:…:bucket/<prefix>*` */
  objects(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }

  /** s3:ListBucket limited to keys under the given prefixes (condition s3:prefix). */
  listStatement(prefixes: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'ListOwnPrefixes',
      actions: ['s3:ListBucket'],
      resources: [this.bucket.bucketArn],
      conditions: {
        StringLike: { 's3:prefix': prefixes.flatMap((p) => [p, `${p}*`]) },
      },
    });
  }

  /** Feature extraction (coordinator and workers): read input/, read-write runs/. */
  grantExtract(role: iam.IRole): void {
    role.addToPrincipalPolicy(this.listStatement([PREFIX.input, PREFIX.runs]));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadInput',
        actions: ['s3:GetObject'],
        resources: [this.objects(PREFIX.input)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteRuns',
        // AbortMultipartUpload: @aws-sdk/lib-storage cleans up a failed multipart upload of a large Parquet file.
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [this.objects(PREFIX.runs)],
      }),
    );
  }

  /** The app: read runs/, and write only the feedback of a run (runs/<name>/feedback/…). */
  grantServe(role: iam.IRole): void {
    role.addToPrincipalPolicy(this.listStatement([PREFIX.runs]));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRuns',
        actions: ['s3:GetObject'],
        resources: [this.objects(PREFIX.runs)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteFeedback',
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${PREFIX.runs}*/feedback/*`)],
      }),
    );
  }
}
