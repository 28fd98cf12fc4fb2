import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReadStream } from "node:fs";
import { silentLogger } from "../../shared/logger.ts";
import { readJob } from "../../shared/job.ts";
import { keys, videoIdOfSourceKey } from "../../shared/keys.ts";
import { serialize } from "../../shared/messages.ts";
import { listAll } from "../../shared/ports.ts";
import { openPipelineEnvironment, startStageWorkers, type PipelineEnvironment } from "../../app/environment.ts";
import { captureLogs } from "../support/capture-logs.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";

/** The JSON S3 sends to SQS for an upload: keys are URL-encoded, spaces as '+'. */
function objectCreatedEvent(bucket: string, ...encodedKeys: string[]): string {
  return JSON.stringify({
    Records: encodedKeys.map((key) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "us-east-1",
      eventTime: "2026-11-27T00:00:00.000Z",
      eventName: "ObjectCreated:Put",
      s3: { s3SchemaVersion: "1.0", bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key, size: 1 } },
    })),
  });
}

async function deadLetters(env: PipelineEnvironment, count: number): Promise<Array<{ reason: string; errorName: string; receiveCount: number }>> {
  const found: Array<{ reason: string; errorName: string; receiveCount: number }> = [];
  await until("the dead-letter records", async () => {
    for (const message of await env.queueSet.deadLetters.ingest.receive({ waitSeconds: 0, maxMessages: 10 })) found.push(JSON.parse(message.body));
    return found.length >= count;
  }, 20);
  return found;
}

describe("only sources/<id>/source.<ext> in an S3 notification starts a job", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("names the video by its prefix and takes only the source object", () => {
    expect(videoIdOfSourceKey("sources/abc123/source.mp4")).toBe("abc123");
    expect(videoIdOfSourceKey("sources/abc_1-2/source")).toBe("abc_1-2");
    for (const key of ["uploads/My Clip (1).avi", "sources/abc/other.mp4", "sources/abc/source.mp4/x", "sources/source.mp4", "videos/abc/hls/master.m3u8", "sources/../x/source.mp4", "sources/abc/source.toolongext"]) {
      expect(videoIdOfSourceKey(key), key).toBeUndefined();
    }
  });

  it("decodes the key and processes the upload to ready; the test event and other keys are skipped with a log line", async () => {
    const { logger, lines } = captureLogs();
    const env = await openPipelineEnvironment(sandbox.config, logger);
    const workers = startStageWorkers(env);
    try {
      const videoId = "clip_1";
      const key = keys.source(videoId, ".avi");
      await env.deps.store.put(key, createReadStream(mediaFile("androidx_sample.avi")));
      // S3's own test event on a new notification configuration is acknowledged and ignored.
      await env.queueSet.queues.ingest.send(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "any" }));
      // A bucket-wide notification also announces vodpipe's own writes and unrelated files.
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", "uploads/My+Clip+%281%29.avi", "videos/clip_1/hls/master.m3u8"));
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", "sources/clip%5F1/source.avi"));

      await until("the job to end", async () => ((await readJob(env.deps.store, videoId))?.status ?? "processing") !== "processing");
      const job = await readJob(env.deps.store, videoId);
      expect(job?.reason).toBeUndefined();
      expect(job?.status).toBe("ready");
      expect(job?.sourceKey).toBe(key);
      expect((await listAll(env.deps.store, "videos/")).every((object) => object.key.startsWith(keys.videoPrefix(videoId)))).toBe(true);
      const skipped = lines.filter((line) => typeof line.msg === "string" && /not an upload/.test(line.msg)).map((line) => line.key);
      expect(skipped.sort()).toEqual(["uploads/My Clip (1).avi", "videos/clip_1/hls/master.m3u8"]);
      expect((await env.queueSet.deadLetters.ingest.depth()).visible).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  });

  it("dead-letters at once, with the reason, a notification that is not valid, a malformed escape and a sourceKey outside its video", async () => {
    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    const workers = startStageWorkers(env, ["ingest"]);
    try {
      await env.queueSet.queues.ingest.send(JSON.stringify({ Records: [{ eventSource: "aws:s3", eventName: "ObjectCreated:Put" }] }));
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", "sources/abc/source%E0%A4%A.mp4"));
      await env.queueSet.queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId: "victim", sourceKey: "sources/attacker/source.mp4" }));
      const dead = await deadLetters(env, 3);
      expect(dead.map((record) => record.errorName)).toEqual(["InvalidMessageError", "InvalidMessageError", "InvalidMessageError"]);
      expect(dead.map((record) => record.receiveCount)).toEqual([1, 1, 1]);
      const reasons = dead.map((record) => record.reason).sort();
      expect(reasons[0]).toMatch(/^invalid S3 event: Records\.0\.s3/);
      expect(reasons[1]).toMatch(/^invalid S3 event: the object key "sources\/abc\/source%E0%A4%A\.mp4" has a malformed URL escape/);
      expect(reasons[2]).toMatch(/^invalid message: sourceKey: sourceKey must lie under sources\/<videoId>\//);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  });

  it("a second object under a running video's prefix does not rewrite its job", async () => {
    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    // Only ingest runs: the job stays `processing` with its split message waiting.
    const workers = startStageWorkers(env, ["ingest"]);
    try {
      const videoId = "twice";
      await env.deps.store.put(keys.source(videoId, ".avi"), createReadStream(mediaFile("androidx_sample.avi")));
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", keys.source(videoId, ".avi")));
      await until("the job to be planned", async () => Boolean((await readJob(env.deps.store, videoId))?.plan));
      const before = await env.deps.store.getBuffer(keys.job(videoId));

      await env.deps.store.put(keys.source(videoId, ".flv"), createReadStream(mediaFile("androidx_sample.flv")));
      await env.queueSet.queues.ingest.send(objectCreatedEvent("any-bucket", keys.source(videoId, ".flv")));
      await until("the ingest queue to drain", async () => {
        const depth = await env.queueSet.queues.ingest.depth();
        return depth.visible + depth.inFlight + depth.delayed === 0;
      });
      expect((await env.deps.store.getBuffer(keys.job(videoId))).equals(before)).toBe(true);
      expect((await env.queueSet.queues.split.depth()).visible).toBe(1);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  });
});
