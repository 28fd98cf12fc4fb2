import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { loadConfig } from "../../shared/config.ts";
import { silentLogger } from "../../shared/logger.ts";
import { readJob, type JobRecord } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { serialize } from "../../shared/messages.ts";
import { listAll, type ObjectStore, type Queue } from "../../shared/ports.ts";
import { openQueueSet, setupQueues } from "../../shared/queue/queue-set.ts";
import { redriveDeadLetters } from "../../shared/queue/queue-operations.ts";
import { createSqsClient } from "../../shared/queue/sqs-queue.ts";
import { createS3ObjectStore } from "../../shared/storage/s3-object-store.ts";
import { openPipelineEnvironment, startStageWorkers } from "../../app/environment.ts";
import { startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";
import { startFaultProxy, type Fault, type FaultProxy } from "../support/fault-proxy.ts";
import { prng } from "../support/hostile-files.ts";
import { mediaFile } from "../support/media.ts";
import { FAST_TEST_ENV } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";

/**
 * Every message a service sends arrives twice and out of order: a batch goes out reversed, and
 * each message's second copy comes a second or two later, after messages sent after it.
 */
function twiceOutOfOrder(queue: Queue): Queue {
  return {
    ...queue,
    send: async (body, options) => {
      const id = await queue.send(body, options);
      await queue.send(body, { delaySeconds: 1 });
      return id;
    },
    sendBatch: async (bodies) => {
      const ids = await queue.sendBatch([...bodies].reverse());
      for (const body of bodies) await queue.send(body, { delaySeconds: 2 });
      return ids.reverse();
    },
  };
}

/** Mostly 5xx and throttling, some resets, a few requests never answered (each costs the 3 s timeout). */
function randomFaults(seed: number, rate: number): () => Fault | undefined {
  const random = prng(seed);
  return () => {
    if (random() >= rate) return undefined;
    const pick = random();
    return pick < 0.35 ? "server-error" : pick < 0.7 ? "throttle" : pick < 0.9 ? "reset" : "timeout";
  };
}

describe("S3 and SQS faults at the adapter boundary (fauxqs behind a fault-injecting proxy)", () => {
  let faux: FauxAws;
  let proxy: FaultProxy;
  let root: string;
  let bucket: string;
  let direct: ObjectStore;
  let directS3: S3Client;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    faux = await startFauxAws();
    proxy = await startFaultProxy(faux.endpoint);
    root = await mkdtemp(join(tmpdir(), "vodpipe-aws-faults-"));
    process.env.AWS_ACCESS_KEY_ID = faux.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = faux.credentials.secretAccessKey;
    bucket = uniqueName("vodpipe-faults");
    directS3 = new S3Client({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials, forcePathStyle: true });
    await directS3.send(new CreateBucketCommand({ Bucket: bucket }));
    direct = createS3ObjectStore({ client: directS3, bucket });
  });
  afterAll(async () => {
    process.env = { ...savedEnv };
    directS3?.destroy();
    await proxy?.stop();
    await faux?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** The pipeline on S3 + SQS through the proxy, in this process; `videoId` is also the queue prefix. */
  async function pipelineOnAws(videoId: string, extra: Record<string, string> = {}, decorateQueue?: (queue: Queue) => Queue) {
    const tmpDir = join(root, `${videoId}-tmp`);
    const env = {
      ...FAST_TEST_ENV,
      VODPIPE_DATA_DIR: join(root, videoId),
      VODPIPE_TMP_DIR: tmpDir,
      VODPIPE_STORAGE: "s3",
      VODPIPE_S3_BUCKET: bucket,
      VODPIPE_S3_ENDPOINT: proxy.endpoint,
      VODPIPE_QUEUE: "sqs",
      VODPIPE_SQS_ENDPOINT: proxy.endpoint,
      VODPIPE_AWS_REGION: faux.region,
      VODPIPE_QUEUE_PREFIX: `${videoId}-`,
      VODPIPE_AWS_TIMEOUT_SECONDS: "3",
      VODPIPE_WAIT_SECONDS: "1",
      VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "20",
      VODPIPE_HEARTBEAT_SECONDS: "5",
      ...extra,
    };
    const config = loadConfig(env);
    const sqs = createSqsClient({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials });
    await setupQueues(config, { sqsClient: sqs });
    const control = await openQueueSet(config, { sqsClient: sqs });
    const environment = await openPipelineEnvironment(config, silentLogger(), decorateQueue ? { decorateQueue } : {});
    const workers = startStageWorkers(environment);
    const sourceKey = keys.source(videoId, ".avi");
    await direct.upload(sourceKey, mediaFile("androidx_sample.avi"));
    await control.queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId, sourceKey }));
    const seen = new Set<string>();
    const job = async (): Promise<JobRecord | undefined> => {
      const found = await readJob(direct, videoId);
      if (found) seen.add(found.status);
      return found;
    };
    return {
      control,
      job,
      /** Every status the job was seen in while the test watched it. */
      seen,
      async stop() {
        await Promise.all(workers.map((worker) => worker.stop({ abortRunning: true })));
        await environment.close();
        await control.close();
        sqs.destroy();
        return readdir(tmpDir).catch(() => []);
      },
    };
  }

  async function playlists(videoId: string): Promise<Record<string, string>> {
    const prefix = keys.outputPrefix(videoId);
    const found: Record<string, string> = {};
    for (const object of await listAll(direct, prefix)) {
      if (object.key.endsWith(".m3u8")) found[object.key.slice(prefix.length)] = (await direct.getBuffer(object.key)).toString("utf8");
    }
    return found;
  }

  it("5xx, throttling, reset connections and unanswered requests, with every message twice and out of order: ready, same playlists as a clean run", async () => {
    proxy.decide = () => undefined;
    const clean = await pipelineOnAws("clean");
    try {
      await until("the clean run to end", async () => (await clean.job())?.status !== "processing" && clean.seen.size > 0, 180);
    } finally {
      expect(await clean.stop()).toEqual([]);
    }
    expect((await clean.job())?.status).toBe("ready");
    const cleanPlaylists = await playlists("clean");
    expect(Object.keys(cleanPlaylists).length).toBeGreaterThanOrEqual(4);

    const before = { ...proxy.injected };
    proxy.decide = randomFaults(13, 0.1);
    const faulty = await pipelineOnAws("faulty", { VODPIPE_MAX_RECEIVE_COUNT: "10" }, twiceOutOfOrder);
    try {
      await until("the run under faults to end", async () => (await faulty.job())?.status !== "processing" && faulty.seen.size > 0, 300);
    } finally {
      proxy.decide = () => undefined;
      expect(await faulty.stop()).toEqual([]);
    }
    const job = await faulty.job();
    expect(job?.reason).toBeUndefined();
    expect(job?.status).toBe("ready");
    expect([...faulty.seen]).not.toContain("failed");
    expect(await playlists("faulty")).toEqual(cleanPlaylists);
    const injected = Object.fromEntries(Object.entries(proxy.injected).map(([fault, count]) => [fault, count - before[fault as Fault]]));
    console.log(`aws faults: ${JSON.stringify(injected)} injected over ${proxy.forwarded} forwarded requests; outcome ${job?.status}`);
    for (const fault of ["server-error", "throttle", "reset", "timeout"]) expect(injected[fault], fault).toBeGreaterThan(0);
  }, 600_000);

  it("a bad deploy (AccessDenied on the work files) dead-letters the parts and never fails the video; once fixed, a redrive makes it ready", async () => {
    proxy.decide = (info) => (info.service === "s3" && info.action.startsWith("PUT") && info.action.includes("/work/attempts/") ? "access-denied" : undefined);
    const run = await pipelineOnAws("denied", { VODPIPE_MAX_RECEIVE_COUNT: "2" });
    try {
      await until("a transcode message in the dead-letter queue", async () => {
        await run.job();
        return (await run.control.deadLetters.transcode.depth()).visible > 0;
      }, 180);
      const job = await run.job();
      expect(job?.status).toBe("processing");
      expect(job?.reason).toBeUndefined();
      expect(proxy.injected["access-denied"]).toBeGreaterThan(0);

      // The operator fixes the permissions and redrives the dead letters.
      proxy.decide = () => undefined;
      await until("every part's message in a dead-letter queue", async () => {
        const depths = await Promise.all((["transcode", "audio", "thumbnails"] as const).map((stage) => run.control.deadLetters[stage].depth()));
        const parts = (await run.job())?.plan?.parts.length ?? Infinity;
        const marked = (await listAll(direct, keys.partsPrefix("denied"))).length;
        return depths.reduce((sum, depth) => sum + depth.visible, 0) + marked >= parts;
      }, 120);
      for (const stage of ["transcode", "audio", "thumbnails"] as const) {
        await redriveDeadLetters(run.control.deadLetters[stage], run.control.queues[stage]);
      }
      await until("the video to end", async () => (await run.job())?.status !== "processing", 180);
    } finally {
      proxy.decide = () => undefined;
      await run.stop();
    }
    expect((await run.job())?.status).toBe("ready");
    expect([...run.seen]).not.toContain("failed");
  }, 600_000);
});
