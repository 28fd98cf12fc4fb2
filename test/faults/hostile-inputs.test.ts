import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { openPipelineEnvironment, type PipelineEnvironment } from "../../app/environment.ts";
import { createStageHandlers } from "../../app/stage-handlers.ts";
import { PermanentError, publicReason } from "../../shared/errors.ts";
import { checkHls } from "../../shared/hls/check-hls.ts";
import { readJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { serialize } from "../../shared/messages.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { captureLogs } from "../support/capture-logs.ts";
import { mediaFile } from "../support/media.ts";
import { processFile } from "../../app/cli/process-command.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { matroskaWithTracks, mutate, prng, setSampleEntrySize } from "../support/hostile-files.ts";

/**
 * Hostile and damaged uploads. Each must be rejected with a reason (a sentence: no command line,
 * no temp path) or processed within the limits, and nothing may reach outside the upload: the
 * playlists and concat lists below name a TCP listener this test runs on 127.0.0.1 and a canary
 * file; the listener must see no connection and the canary's content must appear nowhere.
 */
const binaries = resolveFfmpegBinaries();
const MUTATIONS_PER_FIXTURE = 36;
const MUTATED_FIXTURES = [
  "androidx_sample.avi", "androidx_sample.flv", "bear-vp9-odd-dimensions.webm", "dolbyVision-hdr.MOV",
  "bear-id3.mp3", "bbb_2500ms_first_30_frames.ts", "hdr10-av1.mp4",
];
const PACKET_CAP = 10_000;
/** How many ingest-accepted mutants also go through the whole pipeline. */
const WHOLE_PIPELINE_MUTANTS = 4;

type Outcome = { file: string; kind: "rejected"; reason: string } | { file: string; kind: "processed" } | { file: string; kind: "other"; error: string };

/** Ingest alone runs in one sandbox (its hand-overs to split are left queued), the whole pipeline in another. */
let sandbox: Sandbox;
let pipelineBox: Sandbox;
let work: string;
let listener: Server;
let connections = 0;
let canaryPath: string;
const canaryToken = `canary-${randomUUID()}`;
const captured = captureLogs();
let env: PipelineEnvironment;
let ingest: MessageHandler;
const hostile = new Map<string, string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vodpipe-hostile-"));
  const limits = {
    VODPIPE_MAX_VIDEO_PACKETS: String(PACKET_CAP),
    VODPIPE_MAX_DURATION_SECONDS: "600",
    VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS: "20",
    VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND: "1",
  };
  sandbox = await createSandbox(limits);
  pipelineBox = await createSandbox(limits);
  listener = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as { port: number }).port;
  canaryPath = join(work, "canary.txt");
  await writeFile(canaryPath, `${canaryToken}\n`);

  const make = async (name: string, content: Buffer | string) => {
    const path = join(work, name);
    await writeFile(path, content);
    hostile.set(name, path);
  };
  const ffmpeg = (args: string[]) => runProcess(binaries.ffmpeg, ["-v", "error", "-nostdin", "-y", ...args]);
  const url = `http://127.0.0.1:${port}`;
  const playlist = ["#EXTM3U", "#EXT-X-TARGETDURATION:4", "#EXTINF:4,", `${url}/seg0.ts`, "#EXTINF:4,", `file://${canaryPath}`, "#EXTINF:4,", canaryPath, "#EXT-X-ENDLIST", ""].join("\n");
  await make("playlist-as.mp4", playlist);
  await make("master-playlist-as.mov", ["#EXTM3U", "#EXT-X-STREAM-INF:BANDWIDTH=1", `${url}/index.m3u8`, ""].join("\n"));
  await make("ffconcat-as.mkv", ["ffconcat version 1.0", `file '${canaryPath}'`, `file '${url}/x.mp4'`, ""].join("\n"));
  await make("concat-protocol-name.avi", `concat:${canaryPath}|${canaryPath}`);
  // A real video carrying a playlist and a concat list inside: as an attachment and as a subtitle.
  await writeFile(join(work, "inner.m3u8"), playlist);
  await writeFile(join(work, "inner.srt"), `1\n00:00:00,000 --> 00:00:01,000\n${url}/x.m3u8 file://${canaryPath}\n`);
  await ffmpeg([
    "-i", mediaFile("bear-vp9-odd-dimensions.webm"), "-i", join(work, "inner.srt"),
    "-map", "0", "-map", "1", "-c", "copy", "-c:s", "srt",
    "-attach", join(work, "inner.m3u8"), "-metadata:s:t", "mimetype=application/vnd.apple.mpegurl",
    join(work, "playlist-inside.mkv"),
  ]);
  hostile.set("playlist-inside.mkv", join(work, "playlist-inside.mkv"));
  // 65535x65535 in the sample entry of a 16x16 raw video.
  await ffmpeg(["-f", "lavfi", "-i", "color=s=16x16:d=0.2", "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-f", "mov", join(work, "raw.mov")]);
  await make("65535x65535.mov", setSampleEntrySize(await readFile(join(work, "raw.mov")), "raw ", 65535, 65535));
  // 16384x64 coded, squeezed to 16x64 on display by its sample aspect ratio.
  await ffmpeg(["-f", "lavfi", "-i", "color=s=16384x64:r=25:d=0.2", "-vf", "setsar=1/1000", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-f", "mov", join(work, "16384x64-sar-1-1000.mov")]);
  hostile.set("16384x64-sar-1-1000.mov", join(work, "16384x64-sar-1-1000.mov"));
  // A 2 KB file whose five frames are an hour apart.
  await ffmpeg(["-f", "lavfi", "-i", "color=s=16x16:r=1/3600", "-frames:v", "5", "-c:v", "mjpeg", "-f", "mov", join(work, "five-hours-in-2kb.mov")]);
  hostile.set("five-hours-in-2kb.mov", join(work, "five-hours-in-2kb.mov"));
  // Many tiny packets: 25,000 frames of 2x2 pixels, past the listing cap set above.
  await ffmpeg(["-f", "lavfi", "-i", "color=s=2x2:r=100", "-frames:v", String(PACKET_CAP * 2.5), "-c:v", "rawvideo", "-pix_fmt", "gray", "-f", "mov", join(work, "tiny-packets.mov")]);
  hostile.set("tiny-packets.mov", join(work, "tiny-packets.mov"));
  await make("2001-streams.mkv", matroskaWithTracks(2000));
  await make("40-streams.mkv", matroskaWithTracks(39));

  // The mutants: byte flips, truncations, splices, deterministic from one seed.
  const random = prng(0x5eed_13);
  const sources = await Promise.all(MUTATED_FIXTURES.map(async (name) => ({ name, bytes: await readFile(mediaFile(name)) })));
  for (const [i, source] of sources.entries()) {
    for (let n = 0; n < MUTATIONS_PER_FIXTURE; n += 1) {
      const other = sources[(i + 1 + n) % sources.length]!;
      const { bytes, how } = mutate(source.bytes, other.bytes, random);
      await make(`mutant-${String(n).padStart(2, "0")}-${how}-${source.name}`, bytes);
    }
  }

  const { logger } = captured;
  env = await openPipelineEnvironment(sandbox.config, logger);
  ingest = createStageHandlers(env.deps).ingest;
}, 120_000);

afterAll(async () => {
  await env?.close();
  await new Promise((resolve) => listener?.close(resolve));
  await sandbox?.cleanup();
  await pipelineBox?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** One upload through the ingest handler (probe and validation with the real ffprobe), bounded in time. */
async function ingestOne(name: string, path: string, index: number): Promise<Outcome> {
  const videoId = `hostile${index}`;
  const sourceKey = keys.source(videoId, extname(name).toLowerCase());
  await env.deps.store.put(sourceKey, createReadStream(path));
  const message = { id: `m${index}`, body: serialize({ type: "source-uploaded", version: 1, videoId, sourceKey }), receiptHandle: `r${index}`, receiveCount: 1, sentAt: new Date() };
  try {
    await ingest(message, { messageId: message.id, receiveCount: 1, logger: captured.logger, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const job = await readJob(env.deps.store, videoId);
    if (error instanceof PermanentError && job?.status === "failed" && job.reason) return { file: name, kind: "rejected", reason: job.reason };
    return { file: name, kind: "other", error: `${(error as Error).name}: ${publicReason(error)}` };
  }
  const job = await readJob(env.deps.store, videoId);
  return job?.status === "processing" && job.plan ? { file: name, kind: "processed" } : { file: name, kind: "other", error: `job ${job?.status}` };
}

/** A reason people read: one sentence, no command line, no path. */
function expectSentence(outcome: { file: string; reason: string }): void {
  expect(outcome.reason, outcome.file).toMatch(/^[A-Za-z].{10,400}$/);
  expect(outcome.reason, outcome.file).not.toMatch(/\n|ffmpeg -|ffprobe -|-i |\/tmp\/|vodpipe-|\.mkv\b|source\.\w+/);
  expect(outcome.reason, outcome.file).not.toContain(work);
}

/** Every file under `dir`, as bytes. */
async function everyFile(dir: string): Promise<Buffer[]> {
  const found: Buffer[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return found;
}

describe("hostile inputs", () => {
  const outcomes: Outcome[] = [];
  let pipelineRuns = 0;
  const pipelineEnds: string[] = [];

  it("rejects each crafted file with a reason, or processes it within the limits", async () => {
    const crafted = [...hostile.entries()].filter(([name]) => !name.startsWith("mutant-"));
    for (const [index, [name, path]] of crafted.entries()) outcomes.push(await ingestOne(name, path, index));
    const byFile = Object.fromEntries(outcomes.map((outcome) => [outcome.file, outcome.kind === "rejected" ? outcome.reason : outcome.kind]));
    expect(byFile).toEqual({
      "playlist-as.mp4": expect.stringMatching(/HLS playlist/),
      "master-playlist-as.mov": expect.stringMatching(/HLS playlist/),
      "ffconcat-as.mkv": expect.stringMatching(/not an accepted video container|not a video/),
      "concat-protocol-name.avi": expect.stringMatching(/not an accepted video container|not a video|damaged/),
      "playlist-inside.mkv": "processed",
      "65535x65535.mov": expect.stringMatching(/no video track|65535/),
      "16384x64-sar-1-1000.mov": "the video's frames are 16384x64 pixels as stored; the largest accepted size is 8192x8192",
      "five-hours-in-2kb.mov": "the file says it lasts 18000.0 s; the limit is 600 s",
      "tiny-packets.mov": `the file holds more than ${PACKET_CAP} video frames (packets), more than the longest accepted video can have`,
      "2001-streams.mkv": expect.stringMatching(/more than 1000 streams/),
      "40-streams.mkv": "the file has 40 streams; at most 32 are accepted",
    });
    for (const outcome of outcomes) if (outcome.kind === "rejected") expectSentence(outcome);
  });

  it("rejects each mutated fixture with a reason, or ingests it within the limits", async () => {
    const mutants = [...hostile.entries()].filter(([name]) => name.startsWith("mutant-"));
    const results: Outcome[] = [];
    // Two at a time: one per core.
    let next = 0;
    const worker = async () => {
      while (next < mutants.length) {
        const index = next++;
        const [name, path] = mutants[index]!;
        results.push(await ingestOne(name, path, 1000 + index));
      }
    };
    await Promise.all([worker(), worker()]);
    outcomes.push(...results);
    expect(results.filter((outcome) => outcome.kind === "other")).toEqual([]);
    for (const outcome of results) if (outcome.kind === "rejected") expectSentence(outcome);
    expect(results.length).toBe(MUTATED_FIXTURES.length * MUTATIONS_PER_FIXTURE);
  }, 300_000);

  it("takes a few of them through the whole pipeline: ready and conformant, or failed with a reason", async () => {
    const processed = outcomes.filter((outcome) => outcome.kind === "processed").map((outcome) => outcome.file);
    const chosen = ["playlist-inside.mkv", ...processed.filter((name) => name.startsWith("mutant-")).slice(0, WHOLE_PIPELINE_MUTANTS)];
    expect(chosen.length).toBe(1 + WHOLE_PIPELINE_MUTANTS);
    for (const name of chosen) {
      const result = await processFile(pipelineBox.config, captured.logger, {
        file: hostile.get(name)!,
        outDir: join(pipelineBox.root, "out", `run-${pipelineRuns}`),
        pollMilliseconds: 600_000,
      });
      pipelineRuns += 1;
      pipelineEnds.push(result.job.status);
      if (result.job.status === "ready") {
        const report = await checkHls(result.outDir!, { binaries });
        expect(report.failures, name).toEqual([]);
      } else {
        expect(result.job.status, name).toBe("failed");
        expectSentence({ file: name, reason: result.job.reason ?? "" });
      }
      if (name === "playlist-inside.mkv") expect(result.job.status).toBe("ready");
    }
    expect(await pipelineBox.leftoverTemp()).toEqual([]);
  }, 300_000);

  it("never reached outside the upload: no connection, the canary's content nowhere", async () => {
    expect(connections).toBe(0);
    const token = Buffer.from(canaryToken);
    const logs = JSON.stringify(captured.lines);
    expect(logs.includes(canaryToken)).toBe(false);
    for (const outcome of outcomes) expect(JSON.stringify(outcome).includes(canaryToken)).toBe(false);
    for (const root of [sandbox.root, pipelineBox.root]) {
      for (const bytes of await everyFile(root)) expect(bytes.includes(token)).toBe(false);
    }

    const rejected = outcomes.filter((outcome) => outcome.kind === "rejected").length;
    const processed = outcomes.filter((outcome) => outcome.kind === "processed").length;
    // The figures docs/reliability.md quotes.
    console.log(
      `hostile inputs: ${outcomes.length} files (${hostile.size - MUTATED_FIXTURES.length * MUTATIONS_PER_FIXTURE} crafted, ` +
        `${MUTATED_FIXTURES.length * MUTATIONS_PER_FIXTURE} mutated), ${rejected} rejected with a reason, ${processed} ingested within the limits, ` +
        `${pipelineRuns} through the whole pipeline (${pipelineEnds.filter((status) => status === "ready").length} ready, ` +
        `${pipelineEnds.filter((status) => status === "failed").length} failed with a reason); 0 connections, canary never read`,
    );
    expect(rejected + processed).toBe(outcomes.length);
  });
});
