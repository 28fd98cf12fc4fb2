import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RetryableError } from "../../shared/errors.ts";
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

function message(event: "video.ready" | "video.failed", videoId = "vid1"): ReceivedMessage {
  const body = serialize({ type: "video-event", version: 1, videoId, event, occurredAt: NOW.toISOString() });
  return { id: "m1", body, receiptHandle: "r1", receiveCount: 1, sentAt: NOW };
}

const context = { messageId: "m1", receiveCount: 1, logger: silentLogger(), signal: new AbortController().signal };

async function setUp(events: Array<"video.ready" | "video.failed"> = ["video.ready", "video.failed"]) {
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
      data: { id: "vid1", status: "ready", reason: null, duration: null, renditions: [], playback: { hls: "/v1/videos/vid1/hls/master.m3u8" } },
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
});
