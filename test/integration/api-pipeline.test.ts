import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../shared/logger.ts";
import type { Worker } from "../../shared/consumer/worker.ts";
import { openPipelineEnvironment, startStageWorkers, type PipelineEnvironment } from "../../app/environment.ts";
import { createApiDeps, startApiServer } from "../../app/api-server.ts";
import type { RunningServer } from "../../services/api/server.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";

let sandbox: Sandbox;
let env: PipelineEnvironment;
let workers: Worker[];
let server: RunningServer;
let clip: string;

beforeAll(async () => {
  sandbox = await createSandbox({ PORT: "0" });
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

  it("answers /healthz with every queue and the store", async () => {
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { ok: boolean; checks: Record<string, unknown> };
    expect(health.ok).toBe(true);
    expect(Object.keys(health.checks).sort()).toEqual(["queue:audio", "queue:ingest", "queue:publish", "queue:split", "queue:thumbnails", "queue:transcode", "store"]);
  });
});
