import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadStream } from "node:fs";
import { silentLogger } from "../../shared/logger.ts";
import { readJob } from "../../shared/job.ts";
import { openPipelineEnvironment, startStageWorkers } from "../../app/environment.ts";
import { videoIdForKey } from "../../services/ingest/handler.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";

/** The JSON S3 sends to SQS for an upload: keys are URL-encoded, spaces as '+'. */
function objectCreatedEvent(bucket: string, encodedKey: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: "2026-11-27T00:00:00.000Z",
        eventName: "ObjectCreated:Put",
        s3: { s3SchemaVersion: "1.0", bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodedKey, size: 1 } },
      },
    ],
  });
}

describe("ingest reads S3 ObjectCreated notifications", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("decodes the key, derives a stable video id and processes the upload to ready", async () => {
    const key = "uploads/My Clip (1).avi";
    expect(videoIdForKey(key)).toMatch(/^[0-9a-f]{20}$/);
    expect(videoIdForKey(key)).toBe(videoIdForKey(key));
    expect(videoIdForKey("sources/abc123/source.mp4")).toBe("abc123");

    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    const workers = startStageWorkers(env);
    try {
      await env.deps.store.put(key, createReadStream(mediaFile("androidx_sample.avi")));
      // S3's own test event on a new notification configuration is acknowledged and ignored.
      await env.queueSet.queues.ingest.send(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "any" }));
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", "uploads/My+Clip+%281%29.avi"));

      const videoId = videoIdForKey(key);
      await until("the job to end", async () => ((await readJob(env.deps.store, videoId))?.status ?? "processing") !== "processing");
      const job = await readJob(env.deps.store, videoId);
      expect(job?.reason).toBeUndefined();
      expect(job?.status).toBe("ready");
      expect(job?.sourceKey).toBe(key);
      expect((await env.queueSet.deadLetters.ingest.depth()).visible).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  });

  it("dead-letters a notification that is not valid, with the reason", async () => {
    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    const workers = startStageWorkers(env, ["ingest"]);
    try {
      await env.queueSet.queues.ingest.send(JSON.stringify({ Records: [{ eventSource: "aws:s3", eventName: "ObjectCreated:Put" }] }));
      let dead: Awaited<ReturnType<typeof env.queueSet.deadLetters.ingest.receive>> = [];
      await until("the dead-letter record", async () => (dead = await env.queueSet.deadLetters.ingest.receive({ waitSeconds: 0 })).length > 0, 20);
      expect(dead).toHaveLength(1);
      const record = JSON.parse(dead[0]!.body) as { reason: string; errorName: string };
      expect(record.errorName).toBe("InvalidMessageError");
      expect(record.reason).toMatch(/^invalid S3 event: Records\.0\.s3/);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  });
});
