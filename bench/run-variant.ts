/**
 * One side of the benchmark, run in its own node process so its memory and CPU are its own:
 * `node bin/run-ts.js bench/run-variant.ts <single|pipeline> <spec.json>`. Reads the VODPIPE_*
 * settings from the environment the parent gave it and writes its result to spec.resultFile.
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig, type Config } from "../shared/config.ts";
import { createLogger } from "../shared/logger.ts";
import { processFile } from "../app/cli/process-command.ts";
import { resolveFfmpegBinaries, type FfmpegBinaries } from "../shared/media/ffmpeg-binaries.ts";
import { probeVideoPackets } from "../shared/media/packet-listing.ts";
import { probeContainer } from "../shared/media/probe.ts";
import { runProcess } from "../shared/media/run-process.ts";
import { parseX264Quality } from "../shared/media/encoder-quality.ts";
import { assertUsableContainer, describeSource, type SourceInfo } from "../shared/media/source-info.ts";
import { plannedDurationSeconds } from "../shared/media/chunk-plan.ts";
import { readJsonObject } from "../shared/job.ts";
import { keys } from "../shared/keys.ts";
import type { PartRecord } from "../shared/pipeline/part-record.ts";
import { listAll } from "../shared/ports.ts";
import { createObjectStore } from "../shared/storage/create-object-store.ts";
import { cpuSince, markCpu, round } from "./measure.ts";
import { buildSingleCommand } from "./single-command.ts";

export interface VariantSpec {
  clip: string;
  /** An empty folder this variant may fill. */
  workDir: string;
  resultFile: string;
}

export interface RenditionOutput {
  name: string;
  segments: number;
  bytes: number;
  kbps: number;
}

export interface VariantResult {
  variant: "single" | "pipeline";
  wallSeconds: number;
  cpu: { totalSeconds: number; selfSeconds: number; childrenSeconds: number };
  outputs: RenditionOutput[];
  details: Record<string, unknown>;
}

/** Segment count and size per output folder (every folder holding .ts files). */
async function describeOutputs(root: string, durationSeconds: number): Promise<RenditionOutput[]> {
  const outputs: RenditionOutput[] = [];
  for (const entry of (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory())) {
    const files = (await readdir(join(root, entry.name))).filter((name) => name.endsWith(".ts"));
    if (!files.length) continue;
    let bytes = 0;
    for (const file of files) bytes += (await stat(join(root, entry.name, file))).size;
    outputs.push({ name: entry.name, segments: files.length, bytes, kbps: Math.round((bytes * 8) / durationSeconds / 1000) });
  }
  return outputs.sort((a, b) => b.bytes - a.bytes);
}

async function probeSource(binaries: FfmpegBinaries, config: Readonly<Config>, path: string): Promise<SourceInfo> {
  const raw = await probeContainer(binaries.ffprobe, path);
  const size = (await stat(path)).size;
  const videoStream = assertUsableContainer(raw, size, config.limits);
  const formatStart = Number(raw.format?.start_time);
  const packets = await probeVideoPackets(binaries.ffprobe, path, videoStream.index, Number.isFinite(formatStart) ? formatStart : 0, {
    maxPackets: config.limits.maxVideoPackets,
  });
  return describeSource(raw, videoStream, packets, size, { ...config.limits, maxFrameRate: config.media.maxFrameRate });
}

async function runSingle(spec: VariantSpec, config: Readonly<Config>): Promise<VariantResult> {
  const binaries = resolveFfmpegBinaries({ ffmpegPath: config.ffmpeg.ffmpegPath, ffprobePath: config.ffmpeg.ffprobePath });
  // Probing is not timed: the single command is the bare encode a person who knows the settings would run.
  const source = await probeSource(binaries, config, spec.clip);
  const outDir = join(spec.workDir, "out");
  const threads = 0;
  const command = buildSingleCommand({ input: spec.clip, source, config, outDir, threads });
  for (const folder of command.folders) await mkdir(join(outDir, folder), { recursive: true });

  const cpuStart = markCpu();
  const started = performance.now();
  const { stderr } = await runProcess(binaries.ffmpeg, command.args);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = cpuSince(cpuStart);
  // libx264 reports each output's PSNR/SSIM as it closes, in the order of the outputs: the renditions'.
  const measured = parseX264Quality(stderr);
  const quality = Object.fromEntries(command.renditions.map((r, i) => [r.name, measured[i] ? { psnr: measured[i]!.psnr, ssim: measured[i]!.ssim } : null]));

  const durationSeconds = plannedDurationSeconds(command.plan);
  return {
    variant: "single",
    wallSeconds,
    cpu,
    outputs: await describeOutputs(outDir, durationSeconds),
    details: {
      threads: "0 (ffmpeg's default: decoder and each libx264 encoder choose from the core count)",
      ffmpeg: binaries.ffmpeg,
      segments: command.plan.segmentStarts.length,
      frames: command.plan.totalFrames,
      renditions: command.renditions,
      quality,
      command: [binaries.ffmpeg, ...command.args],
    },
  };
}

interface PartTiming {
  startedAt: string;
  finishedAt: string;
  seconds: number;
}


/** The part markers' timings (what manifest.json's `timings.parts` holds), read from the store. */
async function partTimings(config: Readonly<Config>, videoId: string): Promise<Record<string, PartTiming>> {
  const store = createObjectStore(config);
  const timings: Record<string, PartTiming> = {};
  for (const object of await listAll(store, keys.partsPrefix(videoId))) {
    const record = await readJsonObject<PartRecord>(store, object.key);
    const seconds = round((Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000);
    timings[record.part] = { startedAt: record.startedAt, finishedAt: record.finishedAt, seconds };
  }
  return timings;
}

async function runPipeline(spec: VariantSpec, config: Readonly<Config>): Promise<VariantResult> {
  const logger = createLogger({ level: config.logLevel });
  const outDir = join(spec.workDir, "out");
  const progressStart = performance.now();
  const progress = (line: string) => process.stderr.write(`  [${((performance.now() - progressStart) / 1000).toFixed(1)} s] ${line}\n`);

  const cpuStart = markCpu();
  const startedEpoch = Date.now();
  const started = performance.now();
  const result = await processFile(config, logger, { file: spec.clip, outDir, progress });
  const wallSeconds = (performance.now() - started) / 1000;
  const endedEpoch = startedEpoch + wallSeconds * 1000;
  const cpu = cpuSince(cpuStart);

  const { job } = result;
  if (!job.plan) throw new Error(`the pipeline ended ${job.status} before planning: ${job.reason ?? "no reason given"}`);
  // A failed job (say, publish's conformance check) still did all the work: report it, flagged.
  const ready = job.status === "ready" && job.readyAt !== undefined;
  const endedAt = Date.parse(ready ? job.readyAt! : job.updatedAt);
  const parts = await partTimings(config, result.videoId);
  const at = (iso: string) => Date.parse(iso);
  const firstPartStart = Math.min(...Object.values(parts).map((p) => at(p.startedAt)));
  const partsFinished = Math.max(...Object.values(parts).map((p) => at(p.finishedAt)));
  const chunkParts = Object.entries(parts).filter(([name]) => name.startsWith("chunk-"));
  const chunkSeconds = chunkParts.reduce((sum, [, p]) => sum + p.seconds, 0);
  const transcodeSpan = (Math.max(...chunkParts.map(([, p]) => at(p.finishedAt))) - Math.min(...chunkParts.map(([, p]) => at(p.startedAt)))) / 1000;
  const plan = job.plan;
  const durationSeconds = plannedDurationSeconds(plan.chunks);
  // Not ready: nothing was copied out, but the embedded store holds the segments where the parts put them.
  const outputRoot = ready ? outDir : config.storage.kind === "fs" ? join(config.storage.root, keys.outputPrefix(result.videoId)) : undefined;

  return {
    variant: "pipeline",
    wallSeconds,
    cpu,
    outputs: outputRoot ? await describeOutputs(outputRoot, durationSeconds) : [],
    details: {
      videoId: result.videoId,
      status: job.status,
      ...(job.reason ? { reason: job.reason } : {}),
      timeToReadySeconds: ready ? round((endedAt - startedEpoch) / 1000) : null,
      // Epoch ms, for lining up with the benchmark's own clock (store watch, core timeline).
      epochMs: { started: startedEpoch, created: at(job.createdAt), firstPartStart, partsFinished, ended: endedAt, returned: endedEpoch, ...(job.playableAt ? { playable: at(job.playableAt) } : {}) },
      quality: job.quality ?? null,
      lowestRendition: job.plan.renditions[job.plan.renditions.length - 1]?.name,
      timeToEndSeconds: round((endedAt - startedEpoch) / 1000),
      // Wall-clock phases from the job record and the part markers (ms timestamps).
      phases: {
        uploadAndIngestSeconds: round((at(job.createdAt) - startedEpoch) / 1000),
        splitAndFanOutSeconds: round((firstPartStart - at(job.createdAt)) / 1000),
        partsSeconds: round((partsFinished - firstPartStart) / 1000),
        [ready ? "publishSeconds" : "publishUntilFailureSeconds"]: round((endedAt - partsFinished) / 1000),
        afterEndSeconds: round((endedEpoch - endedAt) / 1000),
      },
      transcode: {
        chunks: chunkParts.length,
        concurrency: config.worker.transcodeConcurrency,
        spanSeconds: round(transcodeSpan),
        sumOfChunkSeconds: round(chunkSeconds),
        // 1.0 = every transcode slot busy from the first chunk's start to the last chunk's end.
        slotUtilisation: round(chunkSeconds / (transcodeSpan * config.worker.transcodeConcurrency)),
      },
      plan: {
        renditions: plan.renditions,
        segments: plan.chunks.segmentStarts.length,
        frames: plan.chunks.totalFrames,
        chunks: plan.chunks.chunks.map((c) => ({ index: c.index, startTime: round(c.startTime), frames: c.frameCount, segments: c.keyframeOffsets.length })),
      },
      partTimings: parts,
    },
  };
}

const [variant, specPath] = process.argv.slice(2);
if ((variant !== "single" && variant !== "pipeline") || !specPath) {
  console.error("usage: node bin/run-ts.js bench/run-variant.ts <single|pipeline> <spec.json>");
  process.exit(64);
}
const spec = JSON.parse(await readFile(specPath, "utf8")) as VariantSpec;
const config = loadConfig(process.env);
const result = variant === "single" ? await runSingle(spec, config) : await runPipeline(spec, config);
await writeFile(spec.resultFile, `${JSON.stringify(result, null, 2)}\n`);
