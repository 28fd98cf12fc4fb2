import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import type * as ecrAssets from "aws-cdk-lib/aws-ecr-assets";
import * as ecsPatterns from "aws-cdk-lib/aws-ecs-patterns";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { bucketListing } from "./functions.ts";
import { KEY_PATTERNS } from "./stage-plan.ts";
import type { Queues } from "./queues.ts";

/** The port `vodpipe api` listens on in the image, and the path its health check answers. */
export const API_PORT = 8080;
export const API_HEALTH_PATH = "/healthz";

export interface ApiServiceProps {
  image: ecrAssets.DockerImageAsset;
  bucket: s3.IBucket;
  queues: Queues;
  environment: Record<string, string>;
  desiredCount: number;
}

/**
 * The API as a container service (the same image, `vodpipe api`) behind a load balancer:
 * resumable uploads and progress streams hold connections open for minutes, longer than API
 * Gateway allows and awkward through a Lambda function URL (docs/deploy.md).
 */
export class ApiService extends Construct {
  readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    // Public subnets only: no NAT gateway to pay for; tasks reach S3 and SQS over their public IPs.
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
    });
    this.service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, "Service", {
      cluster: new ecs.Cluster(this, "Cluster", { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED }),
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: props.desiredCount,
      assignPublicIp: true,
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      circuitBreaker: { rollback: true },
      idleTimeout: Duration.minutes(10),
      taskImageOptions: {
        image: ecs.ContainerImage.fromDockerImageAsset(props.image),
        command: ["api"],
        containerPort: API_PORT,
        environment: { ...props.environment, PORT: String(API_PORT) },
      },
    });
    this.service.targetGroup.configureHealthCheck({ path: API_HEALTH_PATH });

    // Uploads land under sources/ (the bucket's notification starts ingest), resumable (tus) ones
    // under uploads/ first; the API keeps its upload records and the catalog, reads job records,
    // progress and outputs, and deletes videos.
    const task = this.service.taskDefinition.taskRole;
    const objects = (...patterns: string[]) => patterns.map((pattern) => props.bucket.arnForObjects(pattern));
    const allow = (actions: string[], resources: string[]) => task.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    const uploads = [KEY_PATTERNS.sources, "uploads/*"];
    allow(["s3:GetObject"], objects(...uploads, "videos/*", "catalog/*"));
    allow(["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], objects(...uploads));
    allow(["s3:PutObject"], objects(KEY_PATTERNS.job, "videos/*/upload.json", "catalog/*"));
    allow(["s3:DeleteObject"], objects(...uploads, "videos/*", "catalog/*"));
    bucketListing(task, props.bucket);
    task.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"], resources: props.queues.allArns() }));
    props.queues.byStage.ingest.queue.grantSendMessages(task);
  }
}
