import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RetryableError } from "../../shared/errors.ts";
import { writeJob, type JobRecord } from "../../shared/job.ts";
import { silentLogger } from "../../shared/logger.ts";
import { STAGES, type Stage } from "../../shared/messages.ts";
import type { ObjectStore, Queue } from "../../shared/ports.ts";
import { createSenders } from "../../shared/pipeline/senders.ts";
import { completePart } from "../../shared/pipeline/fan-in.ts";
import type { ActiveJob } from "../../shared/pipeline/job-guard.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { createSplitHandler } from "../../services/split/handler.ts";
import { createMemoryQueue, type MemoryQueue } from "../support/memory-queue.ts";

const settings = { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 };

function memoryQueues(): Record<Stage, MemoryQueue> {
  return Object.fromEntries(STAGES.map((stage) => [stage, createMemoryQueue(stage, settings)])) as Record<Stage, MemoryQueue>;
}

const sent = (queue: MemoryQueue) => queue.snapshot().map((message) => JSON.parse(message.body) as unknown);

const context = (body: string) => ({
  message: { id: "m-1", body, receiptHandle: "m-1#1", receiveCount: 1, sentAt: new Date(0) },
  context: { messageId: "m-1", receiveCount: 1, logger: silentLogger(), signal: new AbortController().signal },
});

let root: string;
let store: ObjectStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vodpipe-reach-"));
  store = createFsObjectStore({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("senders", () => {
  it("send each message to its own stage's queue and nowhere else", async () => {
    const queues = memoryQueues();
    const send = createSenders(queues, "transcode", "audio");
    await send.audio({ type: "encode-audio", version: 1, videoId: "v1" });
    await send.transcode({ type: "transcode-chunk", version: 1, videoId: "v1", chunkIndex: 2, seekSeconds: 0 });
    expect(sent(queues.audio)).toEqual([{ type: "encode-audio", version: 1, videoId: "v1" }]);
    expect(sent(queues.transcode)).toEqual([{ type: "transcode-chunk", version: 1, videoId: "v1", chunkIndex: 2, seekSeconds: 0 }]);
    for (const stage of ["ingest", "split", "thumbnails", "publish"] as const) expect(sent(queues[stage])).toEqual([]);
    expect(Object.keys(send).sort()).toEqual(["audio", "transcode"]);
  });

  it("refuse a message that belongs on another queue", async () => {
    const queues = memoryQueues();
    const send = createSenders(queues, "audio");
    const wrong = { type: "publish-video", version: 1, videoId: "v1" } as unknown as Parameters<typeof send.audio>[0];
    await expect(send.audio(wrong)).rejects.toThrow(/publish-video message does not belong on the audio queue/);
    expect(sent(queues.audio)).toEqual([]);
  });
});

describe("a stage built with only what it uses", () => {
  // split gets no ffmpeg here: a message for an ended job must not reach it.
  const splitWith = (queues: Record<Stage, Queue>) =>
    createSplitHandler({
      store,
      send: createSenders(queues, "lead", "transcode", "audio", "thumbnails"),
      binaries: { ffmpeg: "/nonexistent/ffmpeg", ffprobe: "/nonexistent/ffprobe" },
      transcodeConcurrency: 2,
      deadlines: { baseSeconds: 60, perMediaSecond: 20, killGraceSeconds: 5 },
      tmpDir: root,
    });
  const body = JSON.stringify({ type: "split-source", version: 1, videoId: "v1" });

  it("drops a message for a job that already ended, sending nothing", async () => {
    const queues = memoryQueues();
    await writeJob(store, { videoId: "v1", status: "ready", sourceKey: "sources/v1/source.mp4", createdAt: "x", updatedAt: "x" } as JobRecord);
    const { message, context: ctx } = context(body);
    await splitWith(queues)(message, ctx);
    for (const stage of STAGES) expect(sent(queues[stage])).toEqual([]);
  });

  it("retries a message that arrives before its job record", async () => {
    const { message, context: ctx } = context(body);
    await expect(splitWith(memoryQueues())(message, ctx)).rejects.toBeInstanceOf(RetryableError);
  });

  it("rejects a message of another stage's type", async () => {
    const { message, context: ctx } = context(JSON.stringify({ type: "encode-audio", version: 1, videoId: "v1" }));
    await expect(splitWith(memoryQueues())(message, ctx)).rejects.toThrow(/an? encode-audio message on the split queue \(expected split-source\)/);
  });
});

describe("fan-in", () => {
  it("hands over to publish once every part has its marker, not before", async () => {
    const queues = memoryQueues();
    const deps = { store, send: createSenders(queues, "publish") };
    const job = { videoId: "v1", plan: { parts: ["chunk-000", "audio"] } } as unknown as ActiveJob;
    const record = (part: string) => ({ part, startedAt: "a", finishedAt: "b" });
    await completePart(deps, job, record("audio"));
    expect(sent(queues.publish)).toEqual([]);
    await completePart(deps, job, record("chunk-000"));
    expect(sent(queues.publish)).toEqual([{ type: "publish-video", version: 1, videoId: "v1" }]);
  });
});
