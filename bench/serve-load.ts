/**
 * Serving load: how many playback requests per second the embedded API answers on loopback, and
 * its p99 latency, for one media segment and one playlist (the two requests a player repeats).
 * Not a test: it prints a table and writes results/serve-load.json.
 *
 *   npm run bench:serve                      # 10 s per target, 32 connections
 *   npm run bench:serve -- --seconds 20 --connections 64
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { loadConfig } from "../shared/config.ts";
import { writeJob } from "../shared/job.ts";
import { keys } from "../shared/keys.ts";
import { silentLogger } from "../shared/logger.ts";
import { openQueueSet } from "../shared/queue/queue-set.ts";
import { createFsObjectStore } from "../shared/storage/fs-object-store.ts";
import { createApp } from "../services/api/app.ts";
import { listen } from "../services/api/server.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "32" } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);

const root = await mkdtemp(join(tmpdir(), "vodpipe-serve-load-"));
try {
  const config = loadConfig({ VODPIPE_DATA_DIR: join(root, "data"), VODPIPE_LOG_LEVEL: "silent" });
  const store = createFsObjectStore({ root: join(root, "data", "objects") });
  const videoId = "benchvideo0001";
  // A real 4 s segment at the 720p rung's bitrate (about 1.4 MB), so the figure is for real sizes.
  const segmentFile = join(root, "seg.ts");
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=4",
    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2800k", "-f", "mpegts", segmentFile,
  ]);
  const segment = await readFile(segmentFile);
  const playlist = ["#EXTM3U", "#EXT-X-VERSION:4", "#EXT-X-TARGETDURATION:4", "#EXT-X-PLAYLIST-TYPE:VOD"];
  for (let i = 0; i < 150; i += 1) playlist.push("#EXTINF:4.000,", `seg-${String(i).padStart(5, "0")}.ts`);
  playlist.push("#EXT-X-ENDLIST", "");
  await store.put(keys.output(videoId, "720p/index.m3u8"), playlist.join("\n"));
  await store.put(keys.output(videoId, "720p/seg-00000.ts"), segment);
  const at = new Date().toISOString();
  await writeJob(store, { videoId, status: "ready", sourceKey: keys.source(videoId, ".mp4"), createdAt: at, updatedAt: at });

  const queueSet = await openQueueSet(config);
  const app = createApp({ store, ingestQueue: queueSet.queues.ingest, config, logger: silentLogger() });
  const server = await listen(app, { port: 0, hostname: "127.0.0.1" });
  const targets = [
    { name: `segment (${(segment.length / 1e6).toFixed(2)} MB)`, path: `/v1/videos/${videoId}/hls/720p/seg-00000.ts` },
    { name: "playlist (150 segments)", path: `/v1/videos/${videoId}/hls/720p/index.m3u8` },
  ];
  const results = [];
  try {
    for (const target of targets) {
      // The load runs in a worker thread, so the client does not share the server's event loop.
      const result = await autocannon({ url: `${server.url}${target.path}`, connections, duration: seconds, workers: 1 });
      results.push({
        target: target.name,
        requestsPerSecond: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        megabytesPerSecond: Math.round(result.throughput.average / 1e6),
        errors: result.errors + result.non2xx,
      });
    }
  } finally {
    await server.close();
    await queueSet.close();
  }
  console.table(results);
  const out = { at: new Date().toISOString(), node: process.version, seconds, connections, results };
  await writeFile(new URL("results/serve-load.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
