import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Match, Template } from "aws-cdk-lib/assertions";
import { loadConfig } from "../../shared/config.ts";
import { STAGES, type Stage } from "../../shared/messages.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

type Json = Record<string, any>;

let outdir: string;
let template: Template;
let resources: Record<string, Json>;

// `npm run infra:synth`'s own command, with no AWS account, credentials or Docker engine.
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "vodpipe-cdk-"));
  const env = { PATH: process.env.PATH, HOME: outdir, CDK_OUTDIR: outdir };
  await run(process.execPath, ["bin/run-ts.js", "infra/aws/app.ts"], { cwd: root, env });
  template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, "Vodpipe.template.json"), "utf8")));
  resources = template.toJSON().Resources;
}, 180_000);

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

function logicalIdOf(type: string, properties: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: properties }));
  expect(found, `${type} ${JSON.stringify(properties)}`).toHaveLength(1);
  return found[0]!;
}

const queueId = (name: string) => logicalIdOf("AWS::SQS::Queue", { QueueName: name });
const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });

/** The stage a Lambda function serves, from the handler its image runs. */
function functionIdOf(stage: Stage): string {
  return logicalIdOf("AWS::Lambda::Function", { ImageConfig: Match.objectLike({ Command: [`dist/lambda/${stage}.handler`] }) });
}

/** Every statement of the policies attached to a role. */
function statementsOfRole(roleId: string): Json[] {
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((role: Json) => role.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** `bucketArn + "/videos/*"` as written in the template → "videos/*". */
function objectPattern(resource: Json, bucketId: string): string {
  const [, parts] = resource["Fn::Join"] ?? [];
  expect(parts?.[0], JSON.stringify(resource)).toEqual(arnOf(bucketId));
  return String(parts[1]).replace(/^\//, "");
}

/** The object patterns a role gets `action` on, and the queues it may send to. */
function accessOf(roleId: string, bucketId: string) {
  const statements = statementsOfRole(roleId);
  const objects = (action: string) =>
    statements
      .filter((s) => asList(s.Action).includes(action))
      .flatMap((s) => asList(s.Resource).map((resource: Json) => objectPattern(resource, bucketId)))
      .sort();
  const queues = (action: string) =>
    statements
      .filter((s) => asList(s.Action).includes(action))
      .flatMap((s) => asList(s.Resource).map((resource: Json) => resources[resource["Fn::GetAtt"][0]]!.Properties.QueueName))
      .sort();
  return { statements, objects, queues };
}

const bucketId = () => Object.keys(template.findResources("AWS::S3::Bucket"))[0]!;

describe("AWS CDK app (infra/aws)", () => {
  it("points the bucket's ObjectCreated events under sources/ only at the ingest queue", () => {
    template.resourceCountIs("Custom::S3BucketNotifications", 1);
    template.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: { Ref: bucketId() },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ["s3:ObjectCreated:*"],
            Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "sources/" }] } },
            QueueArn: arnOf(queueId("vodpipe-ingest")),
          },
        ],
      },
    });
    // S3 may send to the ingest queue, from this bucket only.
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: queueId("vodpipe-ingest") }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:SendMessage"]),
            Principal: { Service: "s3.amazonaws.com" },
            Condition: { ArnLike: { "aws:SourceArn": arnOf(bucketId()) } },
          }),
        ]),
      },
    });
  });

  it("gives every stage a queue and a dead-letter queue, with maxReceiveCount", () => {
    template.resourceCountIs("AWS::SQS::Queue", 2 * STAGES.length);
    for (const stage of STAGES) {
      const dlq = queueId(`vodpipe-${stage}-dlq`);
      template.hasResource("AWS::SQS::Queue", {
        Properties: Match.objectLike({
          QueueName: `vodpipe-${stage}`,
          RedrivePolicy: { deadLetterTargetArn: arnOf(dlq), maxReceiveCount: 5 },
        }),
      });
      expect(resources[dlq]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it("runs each stage as a function of the one image, fed by its queue with ReportBatchItemFailures", () => {
    const images = new Set<string>();
    for (const stage of STAGES) {
      const fn = resources[functionIdOf(stage)]!.Properties;
      expect(fn.PackageType).toBe("Image");
      expect(fn.ImageConfig.EntryPoint).toEqual(["/opt/lambda-ric/node_modules/.bin/aws-lambda-ric"]);
      images.add(JSON.stringify(fn.Code.ImageUri));
      template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: arnOf(queueId(`vodpipe-${stage}`)),
        FunctionName: { Ref: functionIdOf(stage) },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        BatchSize: 1,
      });
    }
    expect(images.size).toBe(1);
    // The image is staged, not built: one container asset, from infra/Dockerfile.
    const assets = JSON.parse(readFileSync(join(outdir, "Vodpipe.assets.json"), "utf8"));
    const images_ = Object.values(assets.dockerImages) as Json[];
    expect(images_).toHaveLength(1);
    expect(images_[0]!.source.dockerFile).toBe("infra/Dockerfile");
  });

  it("keeps every queue's visibility timeout at least six times its function's timeout", () => {
    for (const stage of STAGES) {
      const timeout = resources[functionIdOf(stage)]!.Properties.Timeout as number;
      const visibility = resources[queueId(`vodpipe-${stage}`)]!.Properties.VisibilityTimeout as number;
      expect(timeout).toBeGreaterThan(0);
      expect(timeout).toBeLessThanOrEqual(900);
      expect(visibility, stage).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it("sizes transcode for its chunk: at least two vCPUs, and /tmp room", () => {
    const fn = resources[functionIdOf("transcode")]!.Properties;
    expect(fn.MemorySize).toBeGreaterThanOrEqual(2 * 1769);
    expect(fn.Environment.Variables.VODPIPE_FFMPEG_THREADS).toBe(String(Math.floor(fn.MemorySize / 1769)));
    expect(Number(fn.Environment.Variables.VODPIPE_CHUNK_SECONDS)).toBeLessThanOrEqual(60);
    expect(fn.EphemeralStorage.Size).toBeGreaterThanOrEqual(2048);
  });

  it("gives each function only its own key prefixes and its next queues", () => {
    const expected: Record<Stage, { get: string[]; put: string[]; del: string[]; send: string[] }> = {
      ingest: { get: ["sources/*", "videos/*/job.json"], put: ["videos/*/job.json"], del: [], send: ["vodpipe-ingest-dlq", "vodpipe-split", "vodpipe-webhook"] },
      split: {
        get: ["sources/*", "videos/*/job.json"],
        put: ["videos/*/job.json", "videos/*/work/chunks/*"],
        del: [],
        send: ["vodpipe-audio", "vodpipe-lead", "vodpipe-split-dlq", "vodpipe-thumbnails", "vodpipe-transcode", "vodpipe-webhook"],
      },
      lead: {
        get: ["sources/*", "videos/*/hls/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/lead-rung.json", "videos/*/work/parts/*"],
        put: ["videos/*/hls/*", "videos/*/job.json", "videos/*/progress/*", "videos/*/work/attempts/*", "videos/*/work/lead-rung.json", "videos/*/work/parts/*"],
        del: ["videos/*/work/attempts/*"],
        send: ["vodpipe-lead-dlq", "vodpipe-publish", "vodpipe-webhook"],
      },
      transcode: {
        get: ["videos/*/hls/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/chunks/*", "videos/*/work/lead-rung.json", "videos/*/work/parts/*"],
        put: ["videos/*/hls/*", "videos/*/job.json", "videos/*/progress/*", "videos/*/work/attempts/*", "videos/*/work/parts/*"],
        del: ["videos/*/work/attempts/*"],
        send: ["vodpipe-publish", "vodpipe-transcode-dlq", "vodpipe-webhook"],
      },
      audio: {
        get: ["sources/*", "videos/*/hls/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/lead-rung.json", "videos/*/work/parts/*"],
        put: ["videos/*/hls/*", "videos/*/job.json", "videos/*/progress/*", "videos/*/work/attempts/*", "videos/*/work/parts/*"],
        del: ["videos/*/work/attempts/*"],
        send: ["vodpipe-audio-dlq", "vodpipe-publish", "vodpipe-webhook"],
      },
      thumbnails: {
        get: ["sources/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/parts/*"],
        put: ["videos/*/hls/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/parts/*"],
        del: ["videos/*/work/attempts/*"],
        send: ["vodpipe-publish", "vodpipe-thumbnails-dlq", "vodpipe-webhook"],
      },
      publish: {
        get: ["videos/*/hls/*", "videos/*/job.json", "videos/*/work/attempts/*", "videos/*/work/parts/*"],
        put: ["videos/*/hls/*", "videos/*/job.json"],
        del: ["videos/*/work/attempts/*", "videos/*/work/chunks/*", "videos/*/work/lead-rung.json"],
        send: ["vodpipe-publish-dlq", "vodpipe-webhook"],
      },
      webhook: { get: ["videos/*/job.json", "videos/*/webhooks/*"], put: ["videos/*/webhooks/*"], del: [], send: ["vodpipe-webhook-dlq"] },
    };
    for (const stage of STAGES) {
      const roleId = resources[functionIdOf(stage)]!.Properties.Role["Fn::GetAtt"][0];
      const { statements, objects, queues } = accessOf(roleId, bucketId());
      expect({ get: objects("s3:GetObject"), put: objects("s3:PutObject"), del: objects("s3:DeleteObject"), send: queues("sqs:SendMessage") }, stage).toEqual(
        expected[stage],
      );
      for (const statement of statements) {
        expect(asList(statement.Action).filter((action: string) => action.includes("*")), stage).toEqual([]);
        expect(statement.Effect).toBe("Allow");
      }
      // Listing key names (for 404s on missing keys) is on the bucket itself, never its objects.
      const listing = statements.filter((s) => asList(s.Action).includes("s3:ListBucket"));
      expect(listing.flatMap((s) => asList(s.Resource))).toEqual([arnOf(bucketId())]);
    }
  });

  it("serves playback through CloudFront over HTTPS, allowed to read only the HLS outputs", () => {
    template.resourceCountIs("AWS::CloudFront::Distribution", 1);
    template.resourceCountIs("AWS::CloudFront::OriginAccessControl", 1);
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: "redirect-to-https" }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue(), DomainName: { "Fn::GetAtt": [bucketId(), "RegionalDomainName"] } })],
      }),
    });
    const statements = Object.values(template.findResources("AWS::S3::BucketPolicy")).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Json[],
    );
    const cloudfront = statements.filter((s) => s.Principal?.Service === "cloudfront.amazonaws.com");
    expect(cloudfront).toHaveLength(1);
    expect(cloudfront[0]!.Action).toBe("s3:GetObject");
    expect(objectPattern(cloudfront[0]!.Resource, bucketId())).toBe("videos/*/hls/*");
    expect(cloudfront[0]!.Condition.StringEquals["AWS:SourceArn"]).toBeDefined();
  });

  it("runs the API from the same image on Fargate, with a health check", () => {
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [Match.objectLike({ Command: ["api"], PortMappings: [Match.objectLike({ ContainerPort: 8080 })] })],
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", { HealthCheckPath: "/healthz" });
    // The API sends viewers to CloudFront for playback files.
    const containerEnvironment = Object.values(template.findResources("AWS::ECS::TaskDefinition"))[0]!.Properties.ContainerDefinitions[0].Environment as Json[];
    const distributionId = Object.keys(template.findResources("AWS::CloudFront::Distribution"))[0]!;
    expect(containerEnvironment.find((entry) => entry.Name === "VODPIPE_PUBLIC_BASE_URL")?.Value).toEqual({
      "Fn::Join": ["", ["https://", { "Fn::GetAtt": [distributionId, "DomainName"] }]],
    });
    // Uploads, its own records and the catalog; never the outputs viewers fetch.
    const taskDefinition = Object.values(template.findResources("AWS::ECS::TaskDefinition"))[0]!;
    const { objects, queues } = accessOf(taskDefinition.Properties.TaskRoleArn["Fn::GetAtt"][0], bucketId());
    expect(objects("s3:PutObject")).toEqual(["catalog/*", "sources/*", "uploads/*", "videos/*/job.json", "videos/*/upload.json"]);
    expect(queues("sqs:SendMessage")).toEqual(["vodpipe-ingest"]);
  });

  it("sets only settings vodpipe accepts, the same for every process of the deployment", () => {
    const environments = [
      ...STAGES.map((stage) => resources[functionIdOf(stage)]!.Properties.Environment.Variables as Json),
      Object.fromEntries(
        (Object.values(template.findResources("AWS::ECS::TaskDefinition"))[0]!.Properties.ContainerDefinitions[0].Environment as Json[]).map(
          (entry) => [entry.Name, entry.Value],
        ),
      ),
    ];
    const shared = ["VODPIPE_STORAGE", "VODPIPE_QUEUE", "VODPIPE_QUEUE_PREFIX", "VODPIPE_CHUNK_SECONDS", "VODPIPE_TRANSCODE_CONCURRENCY", "VODPIPE_MAX_RECEIVE_COUNT"];
    for (const environment of environments) {
      // The bucket name and the distribution's domain are CloudFormation references until deploy time.
      const example: Record<string, string> = { VODPIPE_S3_BUCKET: "vodpipe-example-bucket", VODPIPE_PUBLIC_BASE_URL: "https://d111111abcdef8.cloudfront.net" };
      const concrete = Object.fromEntries(
        Object.entries(environment).map(([name, value]) => [name, typeof value === "string" ? value : example[name]]),
      );
      const config = loadConfig(concrete);
      expect(config.storage.kind).toBe("s3");
      expect(config.queue).toMatchObject({ kind: "sqs", prefix: "vodpipe-" });
      expect(config.queueSettings.maxReceiveCount).toBe(5);
      for (const name of shared) expect(environment[name], name).toEqual(environments[0]![name]);
    }
  });
});
