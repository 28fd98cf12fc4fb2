import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../shared/logger.ts";
import type { Worker } from "../../shared/consumer/worker.ts";
import { openPipelineEnvironment, startStageWorkers, type PipelineEnvironment } from "../../app/environment.ts";
import { createApiDeps, startApiServer } from "../../app/api-server.ts";
import type { RunningServer } from "../../services/api/server.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";
import { childrenOf } from "../../bench/measure.ts";
import { listAll } from "../../shared/ports.ts";
import { keys } from "../../shared/keys.ts";
import { verifyWebhookSignature } from "../../shared/webhook/signature.ts";

const WEBHOOK_SECRET = "pipeline-webhook-secret-0123";
let receiver: Server;
const hooks: Array<{ type: string; data: { id: string; status: string; reason: string | null }; valid: boolean }> = [];

let sandbox: Sandbox;
let env: PipelineEnvironment;
let workers: Worker[];
let server: RunningServer;
let clip: string;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      const valid = verifyWebhookSignature(String(request.headers["vodpipe-signature"]), body, WEBHOOK_SECRET, Date.now() / 1000);
      hooks.push({ ...(JSON.parse(body) as Omit<(typeof hooks)[number], "valid">), valid });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // Long chunks and a slow preset: a deleted video's transcode must outlast several progress ticks
  // (2 s) even on a fast, idle machine, to prove it is killed rather than left to finish.
  sandbox = await createSandbox({ PORT: "0", VODPIPE_CHUNK_SECONDS: "60", VODPIPE_X264_PRESET: "slower", VODPIPE_WEBHOOK_URL: hookUrl, VODPIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  clip = join(sandbox.root, "clip.mp4");
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error",
    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
    "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip,
  ]);
  const logger = silentLogger();
  env = await openPipelineEnvironment(sandbox.config, logger);
  workers = startStageWorkers(env);
  server = await startApiServer(await createApiDeps(sandbox.config, logger, env.deps.store, env.queueSet));
});

afterAll(async () => {
  await server?.close();
  await Promise.all((workers ?? []).map((worker) => worker.stop({ abortRunning: true })));
  await env?.close();
  await sandbox?.cleanup();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** Reads server-sent events until the stream ends; returns the `video` events' data. */
async function readEvents(url: string): Promise<Array<{ status: string; progress: number }>> {
  const response = await fetch(url);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.includes("event: video"))
    .map((block) => JSON.parse(block.split("\n").find((line) => line.startsWith("data:"))!.slice(5)));
}

describe("a real clip through the API", () => {
  it("uploads, follows the events to ready and plays back the tree it made", async () => {
    const upload = await fetch(`${server.url}/v1/videos?filename=clip.mp4`, { method: "POST", body: await readFile(clip) });
    expect(upload.status).toBe(201);
    const { id } = (await upload.json()) as { id: string };

    const events = await readEvents(`${server.url}/v1/videos/${id}/events`);
    const statuses = events.map((event) => event.status);
    expect(statuses.at(-1)).toBe("ready");
    const percents = events.map((event) => event.progress);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    const video = (await (await fetch(`${server.url}/v1/videos/${id}`)).json()) as Record<string, any>;
    expect(video).toMatchObject({ status: "ready", progress: 100, playable: true, filename: "clip.mp4", width: 320, height: 240, reason: null });
    expect(video.duration).toBeCloseTo(4, 1);
    expect(video.renditions.map((r: { name: string; status: string }) => [r.name, r.status])).toEqual([["240p", "ready"]]);

    const master = await fetch(`${server.url}${video.playback.hls}`);
    expect(master.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    const masterText = await master.text();
    const mediaUri = masterText.split("\n").find((line) => line.endsWith(".m3u8") && !line.startsWith("#"))!;
    const mediaUrl = new URL(mediaUri, `${server.url}${video.playback.hls}`);
    const media = await (await fetch(mediaUrl)).text();
    const segmentUrl = new URL(media.split("\n").find((line) => line.endsWith(".ts"))!, mediaUrl);
    const segment = await fetch(segmentUrl);
    expect(segment.headers.get("content-type")).toBe("video/mp2t");
    expect(new Uint8Array(await segment.arrayBuffer())[0]).toBe(0x47);
    const poster = await fetch(`${server.url}${video.playback.poster}`);
    expect(poster.headers.get("content-type")).toBe("image/webp");
    const storyboard = await fetch(`${server.url}${video.playback.storyboard}`);
    expect(await storyboard.text()).toMatch(/^WEBVTT/);
  });

  it("announces ready to the webhook, signed", async () => {
    await until("the video.ready webhook", () => hooks.some((hook) => hook.type === "video.ready"), 30);
    const ready = hooks.filter((hook) => hook.type === "video.ready");
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ valid: true, data: { status: "ready", reason: null } });
  });

  it("fails a file that is not a video with its reason, and announces that", async () => {
    const upload = await fetch(`${server.url}/v1/videos?filename=notes.mp4`, { method: "POST", body: "<html><body>not a video</body></html>" });
    const { id } = (await upload.json()) as { id: string };
    const events = await readEvents(`${server.url}/v1/videos/${id}/events`);
    const last = events.at(-1) as unknown as { status: string; reason: string };
    expect(last.status).toBe("failed");
    expect(last.reason).toMatch(/HTML/i);
    await until("the video.failed webhook", () => hooks.some((hook) => hook.type === "video.failed" && hook.data.id === id), 30);
    expect(hooks.find((hook) => hook.data.id === id)).toMatchObject({ valid: true, data: { status: "failed", reason: last.reason } });
  });

  it("deletes a video while it is encoding: its ffmpeg is killed and its files are gone", async () => {
    const long = join(sandbox.root, "long.mp4");
    execFileSync("ffmpeg", [
      "-hide_banner", "-loglevel", "error",
      "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=50",
      "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", long,
    ]);
    const upload = await fetch(`${server.url}/v1/videos?filename=long.mp4`, { method: "POST", body: await readFile(long) });
    const { id } = (await upload.json()) as { id: string };
    // Encodes run with -progress (thumbnail decodes do not, and end on their own).
    const runningFfmpegs = () => childrenOf(process.pid).filter((pid) => readCmdline(pid).includes("-progress"));
    await until("a transcode's progress record", async () => (await listAll(env.deps.store, keys.progressPrefix(id))).length > 0, 60);
    expect(runningFfmpegs().length).toBeGreaterThan(0);
    const deleted = await fetch(`${server.url}/v1/videos/${id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    // The transcode notices at its next progress tick (every 2 s) and kills its ffmpeg.
    await until("every encode of the deleted video to stop", () => runningFfmpegs().length === 0, 5);
    expect((await fetch(`${server.url}/v1/videos/${id}`)).status).toBe(404);
    expect(await listAll(env.deps.store, keys.sourcePrefix(id))).toEqual([]);
    expect(await listAll(env.deps.store, keys.outputPrefix(id))).toEqual([]);
    const list = (await (await fetch(`${server.url}/v1/videos`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((video) => video.id)).not.toContain(id);
    // Ingest, split and the first progress tick of a 50 s clip: room for a loaded machine.
  }, 180_000);

  it("answers /healthz with every queue and the store", async () => {
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { ok: boolean; checks: Record<string, unknown> };
    expect(health.ok).toBe(true);
    expect(Object.keys(health.checks).sort()).toEqual([
      "queue:audio", "queue:ingest", "queue:lead", "queue:publish", "queue:split", "queue:thumbnails", "queue:transcode", "queue:webhook", "store",
    ]);
  });
});

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}
