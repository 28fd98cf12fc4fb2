import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJob } from "../../shared/job.ts";
import { keys, videoIdOfSourceKey } from "../../shared/keys.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import { listAll } from "../../shared/ports.ts";
import { createS3ObjectStore } from "../../shared/storage/s3-object-store.ts";
import { createSqsClient } from "../../shared/queue/sqs-queue.ts";
import { openQueueSet } from "../../shared/queue/queue-set.ts";
import { loadConfig } from "../../shared/config.ts";
import { STAGES } from "../../shared/messages.ts";
import { fauxAwsEnv, startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";
import { mediaFile, standIn } from "../support/media.ts";
import { FAST_TEST_ENV } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";
import { ROOT, ffmpegChildren, killGroup, startVodpipe, type VodpipeProcess } from "../support/worker-processes.ts";

const run = promisify(execFile);

/** An S3 event notification exactly as S3 sends it to SQS: one record, the key URL-encoded. */
function s3Event(eventName: string, bucket: string, key: string, size: number, eTag: string): string {
  // S3 encodes keys like a form: spaces as '+', everything else outside [A-Za-z0-9._~-/] as %XX.
  const encodedKey = encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "vodpipe-sources",
          bucket: { name: bucket, ownerIdentity: { principalId: "A3NL1KOZZKExample" }, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodedKey, size, eTag, sequencer: "0055AED6DCD90281E5" },
        },
      },
    ],
  });
}

/** S3 events carry the ETag without the quotes HTTP puts around it. */
const unquoted = (etag: string | undefined) => (etag ?? "").replace(/"/g, "");

const STAGE_PROCESSES = ["ingest", "split", "lead", "transcode", "transcode", "audio", "thumbnails", "publish", "webhook"] as const;

// Eight node processes and their ffmpegs on a shared 2-core machine: generous limits.
describe("every stage in its own process, on S3 + SQS", { timeout: 240_000 }, () => {
  let faux: FauxAws;
  let root: string;
  let bucket: string;
  let env: Record<string, string>;
  let store: ObjectStore;
  let s3: S3Client;
  const workers: VodpipeProcess[] = [];
  const transcoders = () => workers.filter((worker) => worker.name.startsWith("transcode"));

  beforeAll(async () => {
    faux = await startFauxAws();
    root = await mkdtemp(join(tmpdir(), "vodpipe-processes-"));
    bucket = uniqueName("vodpipe-processes");
    s3 = new S3Client({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    store = createS3ObjectStore({ client: s3, bucket });
    env = {
      ...FAST_TEST_ENV,
      ...fauxAwsEnv(faux, bucket, `${uniqueName("p")}-`),
      // A killed worker's chunk comes back after 6 s; running handlers renew it every 2 s.
      VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "6",
      VODPIPE_HEARTBEAT_SECONDS: "2",
      VODPIPE_LOG_LEVEL: "info",
      VODPIPE_FFMPEG_THREADS: "1",
      AWS_ACCESS_KEY_ID: faux.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: faux.credentials.secretAccessKey,
    };
    await run(process.execPath, ["bin/vodpipe.js", "setup"], { cwd: ROOT, env: { ...process.env, ...env } });

    let transcodeCount = 0;
    for (const stage of STAGE_PROCESSES) {
      const name = stage === "transcode" ? `transcode-${++transcodeCount}` : stage;
      const tmp = join(root, `tmp-${name}`);
      workers.push(
        startVodpipe(name, ["worker", stage], {
          ...env,
          VODPIPE_TMP_DIR: tmp,
          // The plan shares a video over both transcode processes' slots; each process has one.
          VODPIPE_TRANSCODE_CONCURRENCY: stage === "transcode" ? "1" : "2",
        }),
      );
    }
    await Promise.all(workers.map((worker) => worker.waitForLog("its worker to start", (line) => line.msg === "worker started")));
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) killGroup(worker);
    await Promise.all(workers.map((worker) => worker.exit));
    s3.destroy();
    await faux.stop();
    await rm(root, { recursive: true, force: true });
  });

  async function waitForEnd(videoId: string) {
    await until(`video ${videoId} to end`, async () => ((await readJob(store, videoId))?.status ?? "processing") !== "processing", 180);
    return (await readJob(store, videoId))!;
  }

  /** Downloads the published tree and runs `vodpipe check` on it; also returns what hls/ holds. */
  async function checkPublished(videoId: string) {
    const out = join(root, `published-${videoId}`);
    const prefix = keys.outputPrefix(videoId);
    const objects = (await listAll(store, prefix)).map((object) => object.key.slice(prefix.length));
    for (const path of objects) {
      await mkdir(dirname(join(out, path)), { recursive: true });
      await store.download(prefix + path, join(out, path));
    }
    const check = await run(process.execPath, ["bin/vodpipe.js", "check", out], { cwd: ROOT }).catch((error: { code: number; stdout: string }) => error);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as { files: string[] };
    return { check: JSON.parse(check.stdout) as { ok: boolean }, objects: objects.sort(), manifest };
  }

  const handledChunks = (worker: VodpipeProcess) => worker.logs.filter((line) => line.service === "transcode" && line.msg === "message handled");

  it("a real clip dropped in the bucket ends ready through the S3 event, passes check, and both transcode workers did work", async () => {
    const key = "sources/My_Holiday-1/source.avi";
    const file = mediaFile("androidx_sample.avi");
    await store.upload(key, file);
    const head = (await store.head(key))!;
    const sqs = createSqsClient({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials });
    const queues = await openQueueSet(loadConfig(env), { sqsClient: sqs });
    try {
      // What S3 sends once when a notification configuration is saved: ingest must ignore it.
      await queues.queues.ingest.send(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Time: new Date().toISOString(), Bucket: bucket, RequestId: "5582815E1AEA5ADF", HostId: "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE" }));
      await queues.queues.ingest.send(s3Event("ObjectCreated:Put", bucket, key, head.size, unquoted(head.etag)));
    } finally {
      await queues.close();
      sqs.destroy();
    }

    const videoId = videoIdOfSourceKey(key)!;
    const job = await waitForEnd(videoId);
    expect(job.reason).toBeUndefined();
    expect(job.status).toBe("ready");
    expect(job.sourceKey).toBe(key);
    expect(job.plan!.chunks.chunks.length).toBeGreaterThanOrEqual(2);

    const published = await checkPublished(videoId);
    expect(published.check.ok).toBe(true);
    // Nothing but the files the manifest lists (and the manifest) is published.
    expect(published.objects).toEqual([...new Set([...published.manifest.files, "manifest.json"])].sort());

    const [first, second] = transcoders();
    expect(handledChunks(first!).length, "chunks the first transcode worker did").toBeGreaterThan(0);
    expect(handledChunks(second!).length, "chunks the second transcode worker did").toBeGreaterThan(0);
    expect(handledChunks(first!).length + handledChunks(second!).length).toBe(job.plan!.chunks.chunks.length);
    // The test event was received, handled (ignored) and deleted, leaving no dead letter and no video.
    const ingest = workers.find((worker) => worker.name === "ingest")!;
    expect(ingest.logs.filter((line) => line.msg === "message handled")).toHaveLength(2);
    const queuesReport = await run(process.execPath, ["bin/vodpipe.js", "queues", "--json"], { cwd: ROOT, env: { ...process.env, ...env } });
    const stages = (JSON.parse(queuesReport.stdout) as { stages: Array<{ stage: string; deadLetters: number; waiting: number }> }).stages;
    expect(stages.map((row) => [row.stage, row.waiting, row.deadLetters])).toEqual(STAGES.map((stage) => [stage, 0, 0]));
  });

  it("SIGKILL of a transcode worker holding a chunk: the chunk comes back to the other worker, the video ends ready, nothing half-published", async () => {
    const key = "sources/batch-2/source.mov";
    await store.upload(key, await standIn("mjpeg-422-mp2.mov"));
    const head = (await store.head(key))!;
    const sqs = createSqsClient({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials });
    const queues = await openQueueSet(loadConfig(env), { sqsClient: sqs });
    try {
      await queues.queues.ingest.send(s3Event("ObjectCreated:CompleteMultipartUpload", bucket, key, head.size, `${unquoted(head.etag)}-1`));
    } finally {
      await queues.close();
      sqs.destroy();
    }
    const videoId = videoIdOfSourceKey(key)!;

    const [victim, survivor] = transcoders() as [VodpipeProcess, VodpipeProcess];
    const handledBefore = handledChunks(survivor).length;
    let held: number[] = [];
    await until("the first transcode worker to run a chunk's ffmpeg", () => (held = ffmpegChildren(victim.pid)).length > 0, 120);
    killGroup(victim);
    for (const pid of held) {
      try {
        process.kill(pid, "SIGKILL"); // in case ffmpeg runs in a process group of its own
      } catch {
        // already gone with the group
      }
    }
    expect(await victim.exit).toEqual({ code: null, signal: "SIGKILL" });

    const job = await waitForEnd(videoId);
    expect(job.reason).toBeUndefined();
    expect(job.status).toBe("ready");
    // The chunk the victim held came back after its visibility timeout: a second receive.
    const redone = handledChunks(survivor).slice(handledBefore).filter((line) => Number(line.attempt) > 1);
    expect(redone.length).toBeGreaterThan(0);

    const published = await checkPublished(videoId);
    expect(published.check.ok).toBe(true);
    expect(published.objects).toEqual([...new Set([...published.manifest.files, "manifest.json"])].sort());
    // Every chunk is gone from the work area once published.
    expect((await listAll(store, `${keys.workPrefix(videoId)}chunks/`)).map((object) => object.key)).toEqual([]);
  });

  it("SIGTERM stops every other worker cleanly (exit status 0) with nothing left in its temp folder", async () => {
    const running = workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
    expect(running.map((worker) => worker.name)).toEqual(["ingest", "split", "lead", "transcode-2", "audio", "thumbnails", "publish", "webhook"]);
    for (const worker of running) worker.child.kill("SIGTERM");
    const exits = await Promise.all(running.map((worker) => worker.exit));
    expect(exits).toEqual(running.map(() => ({ code: 0, signal: null })));
    for (const worker of running) {
      expect(await readdir(join(root, `tmp-${worker.name}`)).catch(() => []), worker.name).toEqual([]);
      expect(worker.logs.some((line) => line.msg === "stopped"), worker.name).toBe(true);
    }
  });
});
