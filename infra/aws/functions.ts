import { Duration, Size } from "aws-cdk-lib";
import type * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { STAGES, type Stage } from "../../shared/messages.ts";
import type { Queues } from "./queues.ts";
import { STAGE_PLANS, vcpusFor, type StagePlan } from "./stage-plan.ts";

/** Where the image keeps the runtime interface client and the bundled handlers (infra/Dockerfile). */
export const LAMBDA_ENTRYPOINT = ["/opt/lambda-ric/node_modules/.bin/aws-lambda-ric"];
export const lambdaHandler = (stage: Stage) => `dist/lambda/${stage}.handler`;

export interface StageFunctionsProps {
  image: ecrAssets.DockerImageAsset;
  bucket: s3.IBucket;
  queues: Queues;
  /** Settings every process of the deployment must share (queue prefix, chunk plan, limits). */
  environment: Record<string, string>;
}

/** One Lambda function per stage, all from the same image, each fed by its stage's queue. */
export class StageFunctions extends Construct {
  readonly byStage: Record<Stage, lambda.DockerImageFunction>;

  constructor(scope: Construct, id: string, props: StageFunctionsProps) {
    super(scope, id);
    const entries = STAGES.map((stage): [Stage, lambda.DockerImageFunction] => {
      const plan = STAGE_PLANS[stage];
      const fn = new lambda.DockerImageFunction(this, stage, {
        code: lambda.DockerImageCode.fromEcr(props.image.repository, {
          tagOrDigest: props.image.imageTag,
          entrypoint: LAMBDA_ENTRYPOINT,
          cmd: [lambdaHandler(stage)],
        }),
        description: `vodpipe ${stage} stage`,
        architecture: lambda.Architecture.X86_64,
        memorySize: plan.memoryMb,
        timeout: Duration.seconds(plan.timeoutSeconds),
        ephemeralStorageSize: Size.mebibytes(plan.ephemeralMb),
        environment: {
          ...props.environment,
          VODPIPE_FFMPEG_THREADS: String(vcpusFor(plan.memoryMb)),
          VODPIPE_TMP_DIR: "/tmp",
        },
        logGroup: new logs.LogGroup(this, `${stage}-logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      });
      fn.addEventSource(
        new SqsEventSource(props.queues.byStage[stage].queue, {
          // One message per invocation: a chunk's encode gets the whole function and its timeout.
          batchSize: 1,
          reportBatchItemFailures: true,
        }),
      );
      grantStageAccess(fn, stage, plan, props);
      return [stage, fn];
    });
    this.byStage = Object.fromEntries(entries) as Record<Stage, lambda.DockerImageFunction>;
  }
}

/**
 * Least privilege: objects only under the stage's key patterns; messages only to the queues it
 * hands work to and its own dead-letter queue (where a permanent failure is recorded).
 */
function grantStageAccess(fn: lambda.IFunction, stage: Stage, plan: StagePlan, props: StageFunctionsProps): void {
  const { bucket, queues } = props;
  const objects = (patterns: readonly string[]) => patterns.map((pattern) => bucket.arnForObjects(pattern));
  const allow = (actions: string[], resources: string[]) =>
    resources.length && fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
  allow(["s3:GetObject"], objects(plan.reads));
  allow(["s3:PutObject", "s3:AbortMultipartUpload"], objects(plan.writes));
  allow(["s3:DeleteObject"], objects(plan.deletes));
  bucketListing(fn, bucket);
  // The runtime looks every queue's URL up by name when it starts (nothing else on the others).
  allow(["sqs:GetQueueUrl"], queues.allArns());
  allow(
    ["sqs:SendMessage"],
    [...plan.sendsTo.map((next) => queues.byStage[next].queue.queueArn), queues.byStage[stage].deadLetter.queueArn],
  );
}

/**
 * Key names only, never contents. Without s3:ListBucket, S3 answers a read of a missing key with
 * 403 instead of 404, and the pipeline asks for keys that may not exist yet (a job record, a
 * part's marker) on purpose.
 */
export function bucketListing(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [bucket.bucketArn] }));
}
