import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebhookEventType } from "../../shared/config.ts";
import { RetryableError } from "../../shared/errors.ts";
import { partNames } from "../../shared/keys.ts";
import { completePart } from "../../shared/pipeline/fan-in.ts";
import type { ActiveJob } from "../../shared/pipeline/job-guard.ts";
import { createSender, createSenders } from "../../shared/pipeline/senders.ts";
import { createMemoryQueue } from "../support/memory-queue.ts";
import { writeJob } from "../../shared/job.ts";
import { silentLogger } from "../../shared/logger.ts";
import { serialize } from "../../shared/messages.ts";
import type { ReceivedMessage } from "../../shared/ports.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { verifyWebhookSignature } from "../../shared/webhook/signature.ts";
import { createWebhookHandler } from "../../services/webhook/handler.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";

const SECRET = "whsec-0123456789abcdef";
const NOW = new Date("2026-06-01T12:00:00Z");

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Checked here with node:crypto alone, as a receiver following docs/api.md would. */
  signatureValid: boolean;
}

let receiver: Server;
let receiverUrl: string;
let deliveries: Delivery[] = [];
let answer = 200;
let sandbox: Sandbox;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const header = String(request.headers["vodpipe-signature"] ?? "");
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
      const expected = match ? createHmac("sha256", SECRET).update(`${match[1]}.${body}`).digest() : Buffer.alloc(32);
      const signatureValid = Boolean(match) && timingSafeEqual(expected, Buffer.from(match![2]!, "hex"));
      deliveries.push({ headers: request.headers, body, signatureValid });
      response.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/vodpipe`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});
afterEach(async () => {
  deliveries = [];
  answer = 200;
  await sandbox?.cleanup();
});

function message(event: WebhookEventType, videoId = "vid1"): ReceivedMessage {
  const body = serialize({ type: "video-event", version: 1, videoId, event, occurredAt: NOW.toISOString() });
  return { id: "m1", body, receiptHandle: "r1", receiveCount: 1, sentAt: NOW };
}

const context = { messageId: "m1", receiveCount: 1, logger: silentLogger(), signal: new AbortController().signal };

async function setUp(events: WebhookEventType[] = ["video.ready", "video.failed"]) {
  sandbox = await createSandbox();
  const store = createFsObjectStore({ root: sandbox.config.storage.kind === "fs" ? sandbox.config.storage.root : "" });
  const at = NOW.toISOString();
  await writeJob(store, { videoId: "vid1", status: "ready", sourceKey: "sources/vid1/source.mp4", createdAt: at, updatedAt: at, readyAt: at });
  await writeJob(store, { videoId: "bad1", status: "failed", reason: "the file is not a video", sourceKey: "sources/bad1/source.mp4", createdAt: at, updatedAt: at });
  const handler = createWebhookHandler({ store, webhook: { url: receiverUrl, secret: SECRET, events }, now: () => NOW });
  return { store, handler };
}

describe("webhook delivery", () => {
  it("POSTs the event signed over timestamp.body, as a receiver on 127.0.0.1 verifies it, and only once", async () => {
    const { handler } = await setUp();
    await handler(message("video.ready"), context);
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries;
    expect(delivery!.signatureValid).toBe(true);
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(verifyWebhookSignature(String(delivery!.headers["vodpipe-signature"]), delivery!.body, SECRET, NOW.getTime() / 1000)).toBe(true);
    expect(verifyWebhookSignature(String(delivery!.headers["vodpipe-signature"]), `${delivery!.body} `, SECRET, NOW.getTime() / 1000)).toBe(false);
    expect(verifyWebhookSignature(String(delivery!.headers["vodpipe-signature"]), delivery!.body, SECRET, NOW.getTime() / 1000 + 301)).toBe(false);
    expect(JSON.parse(delivery!.body)).toEqual({
      id: "vid1.video.ready",
      type: "video.ready",
      createdAt: NOW.toISOString(),
      data: { id: "vid1", status: "ready", progress: 100, etaSeconds: null, reason: null, duration: null, renditions: [], playback: { hls: "/v1/videos/vid1/hls/master.m3u8" } },
    });

    await handler(message("video.ready"), context);
    expect(deliveries).toHaveLength(1);
  });

  it("carries a failed video's reason", async () => {
    const { handler } = await setUp();
    await handler(message("video.failed", "bad1"), context);
    expect(JSON.parse(deliveries[0]!.body).data).toMatchObject({ id: "bad1", status: "failed", reason: "the file is not a video", playback: { hls: null } });
  });

  it("throws a retryable error when the receiver answers 500 or cannot be reached, so the queue retries", async () => {
    const { handler } = await setUp();
    answer = 500;
    await expect(handler(message("video.ready"), context)).rejects.toBeInstanceOf(RetryableError);
    answer = 200;
    await handler(message("video.ready"), context);
    expect(deliveries.map((d) => d.signatureValid)).toEqual([true, true]);

    const unreachable = createWebhookHandler({
      store: createFsObjectStore({ root: sandbox.root + "/other" }),
      webhook: { url: "http://127.0.0.1:9/nothing", secret: SECRET, events: ["video.ready"] },
    });
    await writeJob(createFsObjectStore({ root: sandbox.root + "/other" }), { videoId: "vid1", status: "ready", sourceKey: "s", createdAt: "x", updatedAt: "x" });
    await expect(unreachable(message("video.ready"), context)).rejects.toBeInstanceOf(RetryableError);
  });

  it("drops events nobody asked for", async () => {
    const { handler } = await setUp(["video.failed"]);
    await handler(message("video.ready"), context);
    expect(deliveries).toEqual([]);
  });

  it("delivers video.progress when asked, queued by each finished part, at most once per 10% step, signed and retried", async () => {
    const { store, handler } = await setUp(["video.ready", "video.progress"]);
    const webhookQueue = createMemoryQueue("webhook", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const publishQueue = createMemoryQueue("publish", { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const at = NOW.toISOString();
    const chunks = [0, 1].map((index) => ({ index, frameCount: 100 }));
    const job = {
      videoId: "prog1", status: "processing", sourceKey: "sources/prog1/source.mp4", createdAt: at, updatedAt: at, source: {},
      plan: { chunks: { chunks }, hasAudio: false, parts: [partNames.chunk(0), partNames.chunk(1), partNames.thumbnails], renditions: [] },
    } as unknown as ActiveJob;
    await writeJob(store, job);
    const partDeps = { store, send: createSenders({ publish: publishQueue } as never, "publish"), progressEvents: createSender("webhook", webhookQueue), now: () => NOW };
    const finish = (part: string) => completePart(partDeps, job, { part, startedAt: at, finishedAt: at, location: `attempts/${part}/` });
    /** Hands every queued event to the webhook stage as the worker would: deleted once handled, left for a retry otherwise. */
    const drain = async () => {
      for (const received of await webhookQueue.receive({ maxMessages: 10 })) {
        await handler(received, context).then(
          () => webhookQueue.delete(received.receiptHandle),
          (error: unknown) => {
            expect(error).toBeInstanceOf(RetryableError);
            return webhookQueue.changeVisibility(received.receiptHandle, 0);
          },
        );
      }
    };
    const delivered = () => deliveries.map((d) => JSON.parse(d.body) as { id: string; type: string; data: { status: string; progress: number } });

    await finish(partNames.thumbnails); // 20 of 220 frame-weights: 15.9%
    await drain();
    expect(delivered()).toMatchObject([{ id: "prog1.video.progress.10", type: "video.progress", data: { status: "processing", progress: 15.9 } }]);
    expect(deliveries.every((d) => d.signatureValid)).toBe(true);

    // Nothing new to say: a repeat in the same step is not sent.
    await finish(partNames.thumbnails);
    await drain();
    expect(deliveries).toHaveLength(1);

    answer = 503;
    await finish(partNames.chunk(0)); // 120 of 220: 55.5%
    await drain();
    expect(deliveries).toHaveLength(2);
    answer = 200;
    await drain();
    expect(delivered().slice(1).map((event) => [event.id, event.data.progress])).toEqual([
      ["prog1.video.progress.50", 55.5],
      ["prog1.video.progress.50", 55.5],
    ]);
    expect(await webhookQueue.depth()).toMatchObject({ visible: 0 });

    await writeJob(store, { ...job, status: "ready", readyAt: at });
    await finish(partNames.chunk(1));
    await drain();
    expect(deliveries).toHaveLength(3);
  });

  it("queues no progress events unless the webhook asks for them", async () => {
    const { handler } = await setUp(["video.ready"]);
    await handler(message("video.progress"), context);
    expect(deliveries).toEqual([]);
  });
});
