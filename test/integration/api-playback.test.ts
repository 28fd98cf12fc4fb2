import { afterEach, describe, expect, it } from "vitest";
import { writeJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { signPlaybackToken } from "../../services/api/playback-token.ts";
import { createApiHarness, type ApiHarness } from "../support/api-harness.ts";

const SIGNING_KEY = "playback-signing-key-0123456789";
const NOW = Date.parse("2026-06-01T12:00:00Z");
let harness: ApiHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const SEGMENT = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

/** A ready video's tree, written straight into the store. */
async function readyVideo(h: ApiHarness, id = "vid123"): Promise<string> {
  const { store } = h.deps;
  await store.put(keys.output(id, "master.m3u8"), "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n");
  await store.put(keys.output(id, "360p/index.m3u8"), "#EXTM3U\n#EXTINF:2,\nseg-00000.ts\n#EXT-X-ENDLIST\n");
  await store.put(keys.output(id, "360p/seg-00000.ts"), SEGMENT);
  await store.put(keys.output(id, "thumbnails/poster.webp"), "webp");
  await store.put(keys.output(id, "thumbnails/poster.jpg"), "jpeg");
  await store.put(keys.output(id, "thumbnails/storyboard.vtt"), "WEBVTT\n");
  const at = new Date(NOW).toISOString();
  await writeJob(store, { videoId: id, status: "ready", sourceKey: keys.source(id, ".mp4"), createdAt: at, updatedAt: at, readyAt: at });
  return id;
}

describe("playback", () => {
  it("serves the HLS tree and thumbnails with their content types and cache rules, open to any origin", async () => {
    harness = await createApiHarness();
    const id = await readyVideo(harness);
    const expectations: Array<[string, string, string]> = [
      ["hls/master.m3u8", "application/vnd.apple.mpegurl", "public, max-age=10"],
      ["hls/360p/index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=10"],
      ["hls/360p/seg-00000.ts", "video/mp2t", "public, max-age=31536000, immutable"],
      ["thumbnails/poster.webp", "image/webp", "public, max-age=31536000, immutable"],
      ["thumbnails/poster.jpg", "image/jpeg", "public, max-age=31536000, immutable"],
      ["thumbnails/storyboard.vtt", "text/vtt", "public, max-age=31536000, immutable"],
    ];
    for (const [path, type, cache] of expectations) {
      const response = await harness.app.request(`/v1/videos/${id}/${path}`, { headers: { origin: "https://elsewhere.example" } });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toBe(type);
      expect(response.headers.get("cache-control"), path).toBe(cache);
      expect(response.headers.get("access-control-allow-origin"), path).toBe("*");
      expect(response.headers.get("accept-ranges"), path).toBe("bytes");
      await response.arrayBuffer();
    }
    const segment = await harness.app.request(`/v1/videos/${id}/hls/360p/seg-00000.ts`);
    expect(Buffer.from(await segment.arrayBuffer()).equals(SEGMENT)).toBe(true);
    expect(segment.headers.get("content-length")).toBe("1000");
  });

  it("answers byte ranges with 206, and 416 for a range past the end", async () => {
    harness = await createApiHarness();
    const id = await readyVideo(harness);
    const url = `/v1/videos/${id}/hls/360p/seg-00000.ts`;
    const part = await harness.app.request(url, { headers: { range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(Buffer.from(await part.arrayBuffer()).equals(SEGMENT.subarray(10, 20))).toBe(true);
    const open = await harness.app.request(url, { headers: { range: "bytes=990-" } });
    expect(open.headers.get("content-range")).toBe("bytes 990-999/1000");
    expect((await open.arrayBuffer()).byteLength).toBe(10);
    const suffix = await harness.app.request(url, { headers: { range: "bytes=-5" } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(SEGMENT.subarray(995))).toBe(true);
    const past = await harness.app.request(url, { headers: { range: "bytes=1000-2000" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
    expect((await past.json()).error.status).toBe(416);
  });

  it("sends an ETag and answers 304 to If-None-Match, and HEAD without a body", async () => {
    harness = await createApiHarness();
    const id = await readyVideo(harness);
    const url = `/v1/videos/${id}/hls/360p/seg-00000.ts`;
    const first = await harness.app.request(url);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await harness.app.request(url, { headers: { "if-none-match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const changed = await harness.app.request(url, { headers: { "if-none-match": '"something-else"' } });
    expect(changed.status).toBe(200);
    const head = await harness.app.request(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1000");
  });

  it("answers 404 in words: no such video, still processing, or no such file; and refuses path tricks", async () => {
    harness = await createApiHarness();
    const id = await readyVideo(harness);
    expect((await (await harness.app.request("/v1/videos/nosuch/hls/master.m3u8")).json()).error.message).toBe("No video with id nosuch exists.");
    const { id: queued } = await (await harness.app.request("/v1/videos", { method: "POST", body: "x" })).json();
    const early = await harness.app.request(`/v1/videos/${queued}/hls/master.m3u8`);
    expect(early.status).toBe(404);
    expect((await early.json()).error.message).toBe(`Video ${queued} is still queued (0%); its files appear as they are made and the playlist once it is ready.`);
    expect((await harness.app.request(`/v1/videos/${id}/hls/720p/index.m3u8`)).status).toBe(404);
    for (const path of ["hls/..%2Fjob.json", "hls/../job.json", "hls/%2e%2e/job.json", "thumbnails/..%2F..%2Fjob.json"]) {
      const response = await harness.app.request(`/v1/videos/${id}/${path}`);
      expect([400, 404], path).toContain(response.status);
      expect(await response.text(), path).not.toContain("ready");
    }
  });
});

describe("signed playback", () => {
  const env = { VODPIPE_PLAYBACK_SIGNING_KEY: SIGNING_KEY, VODPIPE_PLAYBACK_TOKEN_SECONDS: "3600" };

  it("gives playback URLs with a token in the path that works for relative URIs, and refuses the plain path", async () => {
    harness = await createApiHarness(env, { now: () => new Date(NOW) });
    const id = await readyVideo(harness);
    const video = await (await harness.app.request(`/v1/videos/${id}`)).json();
    expect(video.playback.hls).toMatch(new RegExp(`^/v1/play/[0-9a-z]+\\.[A-Za-z0-9_-]{43}/${id}/hls/master\\.m3u8$`));
    const master = await harness.app.request(video.playback.hls);
    expect(master.status).toBe(200);
    // The media playlist and its segment, resolved relative to the master's URL as a player does.
    const media = new URL("360p/index.m3u8", `http://x${video.playback.hls}`).pathname;
    expect((await harness.app.request(media)).status).toBe(200);
    expect((await harness.app.request(new URL("seg-00000.ts", `http://x${media}`).pathname)).status).toBe(200);
    expect((await harness.app.request(video.playback.poster)).headers.get("content-type")).toBe("image/webp");

    const plain = await harness.app.request(`/v1/videos/${id}/hls/master.m3u8`);
    expect(plain.status).toBe(401);
    expect((await plain.json()).error.message).toMatch(/signed/);
  });

  it("refuses an expired token, a tampered one and one made for another video with 403", async () => {
    harness = await createApiHarness(env, { now: () => new Date(NOW) });
    const id = await readyVideo(harness);
    await readyVideo(harness, "other");
    const nowSeconds = NOW / 1000;
    const expired = signPlaybackToken(id, nowSeconds - 1, SIGNING_KEY);
    const expiredResponse = await harness.app.request(`/v1/play/${expired}/${id}/hls/master.m3u8`);
    expect(expiredResponse.status).toBe(403);
    expect((await expiredResponse.json()).error.message).toMatch(/expired/);

    const valid = signPlaybackToken(id, nowSeconds + 60, SIGNING_KEY);
    expect((await harness.app.request(`/v1/play/${valid}/${id}/hls/master.m3u8`)).status).toBe(200);
    const [expiry, mac] = valid.split(".") as [string, string];
    const longer = `${(parseInt(expiry, 36) + 86_400).toString(36)}.${mac}`;
    const tamperedMac = `${expiry}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    for (const token of [longer, tamperedMac, "garbage"]) {
      const response = await harness.app.request(`/v1/play/${token}/${id}/hls/master.m3u8`);
      expect(response.status, token).toBe(403);
      expect((await response.json()).error.message).toMatch(/not valid/);
    }
    expect((await harness.app.request(`/v1/play/${valid}/other/hls/master.m3u8`)).status).toBe(403);
  });
});
