import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface StorageProps {
  /** Origins allowed to upload straight to the bucket with a presigned URL (browser CORS). */
  uploadOrigins: readonly string[];
}

/** The one bucket: uploads under sources/, job state and outputs under videos/. Private. */
export class Storage extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Videos are the users' data: deleting the stack leaves the bucket.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(2) }],
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.POST],
          allowedOrigins: [...props.uploadOrigins],
          allowedHeaders: ["*"],
          exposedHeaders: ["ETag"],
          maxAge: 3600,
        },
      ],
    });
  }

  /**
   * A finished upload under sources/ starts the pipeline. The filter keeps every other write
   * (job records, chunks, segments) from ever reaching the ingest queue.
   */
  notifyOnUpload(ingestQueue: sqs.IQueue): void {
    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(ingestQueue), { prefix: "sources/" });
  }
}
