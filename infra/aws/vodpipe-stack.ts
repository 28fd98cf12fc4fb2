import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import type { Construct } from "constructs";
import { fileURLToPath } from "node:url";
import { ApiService } from "./api.ts";
import { Delivery } from "./delivery.ts";
import { StageFunctions } from "./functions.ts";
import { Queues } from "./queues.ts";
import { LAMBDA_CHUNK_SECONDS, LAMBDA_MAX_FILE_BYTES } from "./stage-plan.ts";
import { Storage } from "./storage.ts";

/** The repository root: the image's build context (infra/Dockerfile, filtered by .dockerignore). */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface VodpipeStackProps extends StackProps {
  /** VODPIPE_QUEUE_PREFIX for every queue of this deployment. Default `vodpipe-`. */
  queuePrefix?: string;
  /** Receives before a message moves to its dead-letter queue. Default 5. */
  maxReceiveCount?: number;
  /** Browser origins allowed to upload to the bucket with presigned URLs. Default any. */
  uploadOrigins?: string[];
  /** API tasks. Default 1. */
  apiTasks?: number;
}

/** Bucket → ingest queue → one Lambda function per stage → CloudFront; the API on Fargate. */
export class VodpipeStack extends Stack {
  constructor(scope: Construct, id: string, props: VodpipeStackProps = {}) {
    super(scope, id, props);
    const prefix = props.queuePrefix ?? "vodpipe-";
    const maxReceiveCount = props.maxReceiveCount ?? 5;

    const storage = new Storage(this, "Storage", { uploadOrigins: props.uploadOrigins ?? ["*"] });
    const queues = new Queues(this, "Queues", { prefix, maxReceiveCount });
    storage.notifyOnUpload(queues.byStage.ingest.queue);

    // One image for every function and the API; at synth it is only staged, never built.
    const image = new ecrAssets.DockerImageAsset(this, "Image", {
      directory: REPOSITORY_ROOT,
      file: "infra/Dockerfile",
      platform: ecrAssets.Platform.LINUX_AMD64,
    });

    // What every process of the deployment must agree on (ingest plans chunks for transcode).
    const environment = {
      VODPIPE_STORAGE: "s3",
      VODPIPE_S3_BUCKET: storage.bucket.bucketName,
      VODPIPE_QUEUE: "sqs",
      VODPIPE_QUEUE_PREFIX: prefix,
      VODPIPE_MAX_RECEIVE_COUNT: String(maxReceiveCount),
      VODPIPE_CHUNK_SECONDS: String(LAMBDA_CHUNK_SECONDS),
      // Functions scale out instead of sharing a machine: the chunk plan balances for one slot.
      VODPIPE_TRANSCODE_CONCURRENCY: "1",
      VODPIPE_MAX_FILE_BYTES: String(LAMBDA_MAX_FILE_BYTES),
    };
    new StageFunctions(this, "Stages", { image, bucket: storage.bucket, queues, environment });
    const delivery = new Delivery(this, "Delivery", { bucket: storage.bucket });
    const api = new ApiService(this, "Api", {
      image,
      bucket: storage.bucket,
      queues,
      // Playback requests to the API are redirected to CloudFront (videos/<id>/hls/… on both).
      environment: { ...environment, VODPIPE_PUBLIC_BASE_URL: `https://${delivery.distribution.distributionDomainName}` },
      desiredCount: props.apiTasks ?? 1,
    });

    new CfnOutput(this, "BucketName", { value: storage.bucket.bucketName });
    new CfnOutput(this, "IngestQueueUrl", { value: queues.byStage.ingest.queue.queueUrl });
    new CfnOutput(this, "ApiUrl", { value: `http://${api.service.loadBalancer.loadBalancerDnsName}` });
    new CfnOutput(this, "PlaybackUrl", {
      value: `https://${delivery.distribution.distributionDomainName}/videos/<videoId>/hls/master.m3u8`,
    });
  }
}
