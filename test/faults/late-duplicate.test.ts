import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger } from "../../shared/logger.ts";
import { readJob, type JobRecord } from "../../shared/job.ts";
import { keys, partNames } from "../../shared/keys.ts";
import { listAll, type ObjectStore, type Queue } from "../../shared/ports.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { openPipelineEnvironment } from "../../app/environment.ts";
import { createStageHandlers } from "../../app/stage-handlers.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";

/** Every object under a prefix, key → bytes. */
async function snapshot(store: ObjectStore, prefix: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (const object of await listAll(store, prefix)) objects.set(object.key, await store.getBuffer(object.key));
  return objects;
}

describe("a late duplicate of a transcode", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("finishing after the video is ready changes none of its published bytes", async () => {
    // Record what a worker that received chunk 0's message before publish would have held: the
    // job as it was while processing, the chunk file it downloaded, and the message itself.
    const real = createObjectStore(sandbox.config);
    const savedChunk = join(sandbox.root, "chunk-0-as-downloaded.mkv");
    let processingJob: JobRecord | undefined;
    let chunkMessage: string | undefined;
    const recording: ObjectStore = {
      ...real,
      async put(key, body, options) {
        if (key.endsWith("/job.json") && typeof body === "string") {
          const job = JSON.parse(body) as JobRecord;
          if (job.status === "processing" && job.plan) processingJob = job;
        }
        return real.put(key, body, options);
      },
      async upload(key, path, options) {
        if (key.endsWith("/work/chunks/chunk-000.mkv")) await copyFile(path, savedChunk);
        return real.upload(key, path, options);
      },
    };
    const recordChunkZero = (queue: Queue): Queue => ({
      ...queue,
      sendBatch: async (bodies) => {
        chunkMessage ??= bodies.find((body) => body.includes('"transcode-chunk"') && body.includes('"chunkIndex":0'));
        return queue.sendBatch(bodies);
      },
      send: async (body, options) => {
        if (body.includes('"transcode-chunk"') && body.includes('"chunkIndex":0')) chunkMessage ??= body;
        return queue.send(body, options);
      },
    });

    const result = await runPipeline(sandbox, mediaFile("androidx_sample.avi"), { store: recording, decorateQueue: recordChunkZero });
    expect(result.job.status).toBe("ready");
    const { videoId } = result;
    expect(processingJob && chunkMessage).toBeTruthy();
    const published = await snapshot(real, keys.outputPrefix(videoId));
    const marker = await real.getBuffer(keys.part(videoId, partNames.chunk(0)));
    expect([...published.keys()].some((key) => /\/seg-00000\.ts$/.test(key))).toBe(true);

    // The stale worker: it saw the job still processing and no marker for its chunk when it
    // started, and encodes differently (another preset) so that any byte it published would show.
    const stalePlan = { ...processingJob!, plan: { ...processingJob!.plan!, x264Preset: "ultrafast" } };
    let staleStart = true;
    const stale: ObjectStore = {
      ...real,
      async getBuffer(key) {
        if (key === keys.job(videoId) && staleStart) return Buffer.from(JSON.stringify(stalePlan));
        return real.getBuffer(key);
      },
      async head(key) {
        if (key === keys.part(videoId, partNames.chunk(0)) && staleStart) {
          staleStart = false;
          return undefined;
        }
        return real.head(key);
      },
      async download(key, path, options) {
        if (key === keys.chunk(videoId, 0)) return copyFile(savedChunk, path);
        return real.download(key, path, options);
      },
    };
    const env = await openPipelineEnvironment(sandbox.config, silentLogger(), { store: stale });
    try {
      const transcode = createStageHandlers(env.deps).transcode;
      await transcode(
        { id: "late", body: chunkMessage!, receiptHandle: "late", receiveCount: 1, sentAt: new Date() },
        { messageId: "late", receiveCount: 1, logger: silentLogger(), signal: new AbortController().signal },
      );
    } finally {
      await env.close();
    }
    expect(staleStart).toBe(false); // it did get past the marker check and encode

    const after = await snapshot(real, keys.outputPrefix(videoId));
    expect([...after.keys()].sort()).toEqual([...published.keys()].sort());
    for (const [key, bytes] of published) expect(after.get(key)!.equals(bytes), key).toBe(true);
    expect((await real.getBuffer(keys.part(videoId, partNames.chunk(0)))).equals(marker)).toBe(true);
    expect((await readJob(real, videoId))?.status).toBe("ready");
    // Its files were not left behind either.
    expect(await listAll(real, keys.attemptsPrefix(videoId))).toEqual([]);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  });
});
