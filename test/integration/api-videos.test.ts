import { afterEach, describe, expect, it } from "vitest";
import { readJob, writeJob, type JobRecord } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { parseMessage } from "../../shared/messages.ts";
import { listAll } from "../../shared/ports.ts";
import { createApiHarness, streamedBody, type ApiHarness } from "../support/api-harness.ts";

const KEY = "test-key-0123456789abcdef";
let harness: ApiHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function json(response: Response): Promise<any> {
  return JSON.parse(await response.text());
}

describe("GET /v1/videos/:id while processing and once ready", () => {
  it("is playable with an HLS URL once the job records playableAt, and reports each rendition's measured quality once ready", async () => {
    harness = await createApiHarness();
    const { app, deps } = harness;
    const videoId = "progressive-1";
    const rendition = { name: "360p", width: 640, height: 360, videoKbps: 800, maxrateKbps: 880, bufsizeKbps: 1600, profile: "main" };
    const job = {
      videoId, status: "processing", sourceKey: keys.source(videoId, ".mp4"), createdAt: "2024-05-01T10:00:00.000Z", updatedAt: "2024-05-01T10:00:01.000Z",
      plan: { segmentSeconds: 4, x264Preset: "veryfast", renditions: [rendition], chunks: { chunks: [] }, toneMap: null, hasAudio: false, parts: ["chunk-000"] },
    };
    const video = async (record: object) => {
      await writeJob(deps.store, record as JobRecord);
      return json(await app.request(`/v1/videos/${videoId}`));
    };
    expect(await video(job)).toMatchObject({ status: "processing", playable: false, playback: { hls: null } });
    expect(await video({ ...job, playableAt: "2024-05-01T10:00:03.000Z" })).toMatchObject({
      status: "processing", playable: true, playback: { hls: `/v1/videos/${videoId}/hls/master.m3u8` }, renditions: [{ name: "360p", quality: null }],
    });
    const ready = { ...job, status: "ready", playableAt: "2024-05-01T10:00:03.000Z", readyAt: "2024-05-01T10:00:09.000Z", quality: { "360p": { psnr: 41.2, ssim: 0.987 } } };
    expect(await video(ready)).toMatchObject({ status: "ready", playable: true, renditions: [{ name: "360p", status: "ready", quality: { psnr: 41.2, ssim: 0.987 } }] });
  });

  it("reports poster and storyboard URLs only once their objects exist, each of them fetchable", async () => {
    harness = await createApiHarness();
    const { app, deps } = harness;
    const videoId = "thumbs-1";
    const job = {
      videoId, status: "processing", sourceKey: keys.source(videoId, ".mp4"), createdAt: "2024-05-01T10:00:00.000Z", updatedAt: "2024-05-01T10:00:01.000Z",
      plan: { segmentSeconds: 4, x264Preset: "veryfast", renditions: [], chunks: { chunks: [] }, toneMap: null, hasAudio: false, parts: ["thumbnails"] },
    };
    await writeJob(deps.store, job as unknown as JobRecord);
    const playback = async () => (await json(await app.request(`/v1/videos/${videoId}`))).playback;
    const fetchable = async (url: string | null) => url !== null && (await app.request(url)).status === 200;

    expect(await playback()).toEqual({ hls: null, poster: null, storyboard: null });
    // The stage finished, but its files are still in its staging area: no URL yet.
    await deps.store.put(keys.part(videoId, "thumbnails"), "{}");
    expect(await playback()).toEqual({ hls: null, poster: null, storyboard: null });
    await deps.store.put(keys.output(videoId, "thumbnails/poster.webp"), "webp");
    const withPoster = await playback();
    expect(withPoster).toMatchObject({ poster: `/v1/videos/${videoId}/thumbnails/poster.webp`, storyboard: null });
    expect(await fetchable(withPoster.poster)).toBe(true);
    await deps.store.put(keys.output(videoId, "thumbnails/storyboard.vtt"), "WEBVTT\n");
    expect(await fetchable((await playback()).storyboard)).toBe(true);
  });
});

describe("POST /v1/videos (raw body)", () => {
  it("stores the body, answers 201 with the video queued, lists it and sends ingest its message", async () => {
    harness = await createApiHarness();
    const { app, deps, queueSet } = harness;
    const body = Buffer.from("not really a video, ingest decides that");
    const response = await app.request("/v1/videos?filename=holiday%20clip.MP4", { method: "POST", body });
    expect(response.status).toBe(201);
    const video = await json(response);
    expect(video).toMatchObject({ status: "queued", progress: 0, filename: "holiday clip.MP4", size: body.length, playable: false, reason: null });
    expect(response.headers.get("location")).toBe(`/v1/videos/${video.id}`);
    expect((await deps.store.getBuffer(keys.source(video.id, ".mp4"))).equals(body)).toBe(true);

    const [message] = await queueSet.queues.ingest.receive({ waitSeconds: 0 });
    expect(parseMessage(message!.body)).toEqual({
      type: "source-uploaded",
      version: 1,
      videoId: video.id,
      sourceKey: keys.source(video.id, ".mp4"),
      originalName: "holiday clip.MP4",
    });

    const got = await app.request(`/v1/videos/${video.id}`);
    expect(got.status).toBe(200);
    expect(await json(got)).toMatchObject({ id: video.id, status: "queued" });
  });

  it("accepts PUT (curl -T) and the X-Filename header", async () => {
    harness = await createApiHarness();
    const response = await harness.app.request("/v1/videos", { method: "PUT", body: "abc", headers: { "x-filename": "../../etc/passwd.mov" } });
    expect(response.status).toBe(201);
    const video = await json(response);
    expect(video.filename).toBe("passwd.mov");
    expect(await harness.deps.store.head(keys.source(video.id, ".mov"))).toBeDefined();
  });

  it("answers 413 while streaming past VODPIPE_MAX_FILE_BYTES and keeps nothing of it", async () => {
    harness = await createApiHarness({ VODPIPE_MAX_FILE_BYTES: "100000" });
    const { app, deps } = harness;
    const response = await app.request("/v1/videos", { method: "POST", body: streamedBody(300_000), duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(await json(response)).toEqual({ error: { status: 413, message: "The video is larger than the limit of 100000 bytes (VODPIPE_MAX_FILE_BYTES)." } });
    expect((await listAll(deps.store, "")).map((o) => o.key)).toEqual([]);
    expect(await harness.queueSet.queues.ingest.receive({ waitSeconds: 0 })).toEqual([]);
  });

  it("answers 413 at once from a declared Content-Length over the limit", async () => {
    harness = await createApiHarness({ VODPIPE_MAX_FILE_BYTES: "100000" });
    const response = await harness.app.request("/v1/videos", { method: "POST", body: "x", headers: { "content-length": "100001" } });
    expect(response.status).toBe(413);
    expect((await listAll(harness.deps.store, "")).length).toBe(0);
  });

  it("rejects an empty body with 400", async () => {
    harness = await createApiHarness();
    const response = await harness.app.request("/v1/videos", { method: "POST", body: "" });
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toMatch(/body is empty/);
  });
});

describe("API key", () => {
  it("needs Authorization: Bearer on write routes when VODPIPE_API_KEY is set, and leaves reads open", async () => {
    harness = await createApiHarness({ VODPIPE_API_KEY: KEY });
    const { app } = harness;
    const missing = await app.request("/v1/videos", { method: "POST", body: "abc" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect((await json(missing)).error.message).toMatch(/needs an API key/);
    const wrong = await app.request("/v1/videos", { method: "POST", body: "abc", headers: { authorization: `Bearer ${KEY}x` } });
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error.message).toMatch(/not valid/);
    const right = await app.request("/v1/videos", { method: "POST", body: "abc", headers: { authorization: `Bearer ${KEY}` } });
    expect(right.status).toBe(201);
    const { id } = await json(right);

    expect((await app.request(`/v1/videos/${id}`)).status).toBe(200);
    expect((await app.request(`/v1/videos/${id}`, { method: "DELETE" })).status).toBe(401);
    expect((await app.request(`/v1/videos/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${KEY}` } })).status).toBe(204);
  });
});

describe("GET /v1/videos", () => {
  it("pages newest first with a cursor", async () => {
    let clock = Date.parse("2026-01-01T00:00:00Z");
    harness = await createApiHarness({}, { now: () => new Date((clock += 1000)) });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await json(await harness.app.request("/v1/videos", { method: "POST", body: `v${i}` }))).id);
    const first = await json(await harness.app.request("/v1/videos?limit=2"));
    expect(first.data.map((v: { id: string }) => v.id)).toEqual([ids[4], ids[3]]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await json(await harness.app.request(`/v1/videos?limit=2&cursor=${first.nextCursor}`));
    expect(second.data.map((v: { id: string }) => v.id)).toEqual([ids[2], ids[1]]);
    const third = await json(await harness.app.request(`/v1/videos?limit=2&cursor=${second.nextCursor}`));
    expect(third.data.map((v: { id: string }) => v.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeNull();
  });

  it("rejects a limit out of range with 400", async () => {
    harness = await createApiHarness();
    const response = await harness.app.request("/v1/videos?limit=1000");
    expect(response.status).toBe(400);
    expect((await json(response)).error.message).toMatch(/^Invalid limit/);
  });
});

describe("GET and DELETE /v1/videos/{id}", () => {
  it("answers 400 for an id that is not one, and 404 naming an unknown id", async () => {
    harness = await createApiHarness();
    const bad = await harness.app.request("/v1/videos/..%2F..%2Fetc");
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({ error: { status: 400, message: "Invalid id: a video id is 1-64 letters, digits, '-' or '_'." } });
    const unknown = await harness.app.request("/v1/videos/nosuchvideo");
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: { status: 404, message: "No video with id nosuchvideo exists." } });
    expect((await harness.app.request("/v1/videos/nosuchvideo", { method: "DELETE" })).status).toBe(404);
  });

  it("removes every object of the video but its tombstone, and unlists it", async () => {
    harness = await createApiHarness();
    const { app, deps } = harness;
    const { id } = await json(await app.request("/v1/videos", { method: "POST", body: "abc" }));
    await deps.store.put(keys.output(id, "360p/seg-00000.ts"), "segment");
    await deps.store.put(keys.progress(id, "chunk-000"), "{}");
    expect((await app.request(`/v1/videos/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await listAll(deps.store, "")).map((o) => o.key)).toEqual([keys.job(id)]);
    expect((await readJob(deps.store, id))?.status).toBe("deleted");
    expect((await app.request(`/v1/videos/${id}`)).status).toBe(404);
    expect((await json(await app.request("/v1/videos"))).data).toEqual([]);
  });
});

describe("GET /v1/videos/{id}/events", () => {
  it("sends the video at once, ends with `deleted` when it is deleted, and answers 404 for an unknown id", async () => {
    harness = await createApiHarness({}, { eventPollMs: 20 });
    const { app } = harness;
    const { id } = await json(await app.request("/v1/videos", { method: "POST", body: "abc" }));
    const response = await app.request(`/v1/videos/${id}/events`);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? "";
    expect(text).toMatch(new RegExp(`^event: video\ndata: \\{"id":"${id}","status":"queued"`));
    expect((await app.request(`/v1/videos/${id}`, { method: "DELETE" })).status).toBe(204);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toContain(`event: deleted\ndata: {"id":"${id}"}`);
    const unknown = await app.request("/v1/videos/nosuchvideo/events");
    expect(unknown.status).toBe(404);
  });
});

describe("errors", () => {
  it("are JSON with a sentence for unknown routes and never show a 500's details", async () => {
    harness = await createApiHarness({}, {});
    const unknown = await harness.app.request("/v2/nothing");
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.status).toBe(404);

    const broken = await createApiHarness({}, { healthChecks: {} });
    try {
      // A store that fails with an internal path in its message.
      broken.deps.store.getBuffer = async () => {
        throw new Error("EACCES: permission denied, open '/srv/secret/objects/videos/x/job.json'");
      };
      const response = await broken.app.request("/v1/videos/abc");
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain("/srv/secret");
      expect(JSON.parse(text)).toEqual({ error: { status: 500, message: "The server failed to handle the request; its log has the details." } });
    } finally {
      await broken.close();
    }
  });
});

describe("/healthz, /openapi.json, /docs", () => {
  it("is 200 when every check answers and 503 naming the one that does not", async () => {
    harness = await createApiHarness();
    const ok = await harness.app.request("/healthz");
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ ok: true, checks: { store: { ok: true }, "queue:ingest": { ok: true } } });

    const down = await createApiHarness({}, { healthChecks: { store: async () => {}, "queue:transcode": async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:4566")) } });
    try {
      const response = await down.app.request("/healthz");
      expect(response.status).toBe(503);
      expect(await json(response)).toEqual({
        ok: false,
        checks: { store: { ok: true }, "queue:transcode": { ok: false, error: "connect ECONNREFUSED 127.0.0.1:4566" } },
      });
    } finally {
      await down.close();
    }
  });

  it("documents the routes from their schemas", async () => {
    harness = await createApiHarness();
    const document = await json(await harness.app.request("/openapi.json"));
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/v1/videos", "/v1/videos/{id}", "/v1/videos/{id}/events", "/v1/videos/{id}/{tree}/{path}", "/healthz"]),
    );
    expect(document.paths["/v1/videos/{id}"].get.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/Video");
    expect(document.components.schemas.Video.required).toEqual(expect.arrayContaining(["status", "progress", "etaSeconds", "playback", "renditions"]));
    const docs = await harness.app.request("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });
});
