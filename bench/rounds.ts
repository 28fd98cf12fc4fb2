/**
 * One round of the benchmark: each variant in its own node process, its process tree sampled
 * (memory, CPU, and which process ran on which core), and for the pipeline the store watched for
 * the upload and the published segments.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../shared/config.ts";
import { cpuSince, machineBusySeconds, markCpu, round, startTreeSampler, type SampledProcess, type TreeReport } from "./measure.ts";
import { replayViewer, watchStore } from "./playback.ts";
import type { VariantResult, VariantSpec } from "./run-variant.ts";
import { coreTimeline, sumWindow, type TimelineFrame } from "./timeline.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const REPO_DIR = resolve(BENCH_DIR, "..");
const MB = 1024 * 1024;

/** What a process in the tree was doing, from its command line. */
export function role(p: SampledProcess): string {
  const cmd = p.commandLine;
  if (p.name === "ffprobe") return "ffprobe";
  if (p.name === "ffmpeg") {
    if (cmd.includes("libx264")) return "ffmpeg transcode";
    if (cmd.includes(" -c copy ")) return "ffmpeg split";
    if (cmd.includes(" -c:a aac ")) return "ffmpeg audio";
    return "ffmpeg other (thumbnails, checks)";
  }
  if (cmd.includes("run-variant.ts")) return "node (variant process)";
  if (p.name === "esbuild") return "esbuild (loading the TypeScript)";
  return p.name;
}

interface RoleSummary {
  role: string;
  processes: number;
  largestPeakRssMB: number;
  sampledCpuSeconds: number;
}

function summariseRoles(report: TreeReport): RoleSummary[] {
  const byRole = new Map<string, RoleSummary>();
  for (const p of report.processes) {
    const name = role(p);
    const entry = byRole.get(name) ?? { role: name, processes: 0, largestPeakRssMB: 0, sampledCpuSeconds: 0 };
    entry.processes += 1;
    entry.largestPeakRssMB = Math.max(entry.largestPeakRssMB, mb(p.peakRssBytes));
    entry.sampledCpuSeconds = round(entry.sampledCpuSeconds + p.cpuSeconds, 2);
    byRole.set(name, entry);
  }
  return [...byRole.values()].sort((a, b) => b.sampledCpuSeconds - a.sampledCpuSeconds);
}

export const mb = (bytes: number) => Math.round(bytes / MB);

/** Sampled CPU of the ffmpegs that encode the ladder and the audio: the work both variants must do. */
export function encodeCpuSeconds(processes: readonly RoleSummary[]): number {
  return round(processes.filter((p) => p.role === "ffmpeg transcode" || p.role === "ffmpeg audio").reduce((sum, p) => sum + p.sampledCpuSeconds, 0), 2);
}

/** Runs one variant in a child node process while sampling its process tree. */
async function runVariant(variant: "single" | "pipeline", clip: string, root: string, env: Record<string, string>) {
  const workDir = join(root, variant);
  await mkdir(workDir, { recursive: true });
  const spec: VariantSpec = { clip, workDir, resultFile: join(root, `${variant}-result.json`) };
  const specPath = join(root, `${variant}-spec.json`);
  await writeFile(specPath, JSON.stringify(spec));

  process.stderr.write(`bench: running ${variant}…\n`);
  const machineStart = machineBusySeconds();
  const ownStart = markCpu();
  const started = performance.now();
  const startedMs = Date.now();
  const storage = loadConfig(env).storage;
  const watch = variant === "pipeline" && storage.kind === "fs" ? watchStore(storage.root, 100) : undefined;
  const child = spawn(process.execPath, [join(REPO_DIR, "bin/run-ts.js"), join(BENCH_DIR, "run-variant.ts"), variant, specPath], {
    cwd: REPO_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const sampler = startTreeSampler(child.pid!, 100, { cores: true });
  const exitCode = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code));
  });
  const tree = sampler.stop();
  const seenStore = watch?.stop();
  const processSeconds = (performance.now() - started) / 1000;
  // This process and the variant process it waited for (with everything that one waited for).
  const ownCpu = cpuSince(ownStart).totalSeconds;
  const otherCpu = Math.max(0, machineBusySeconds() - machineStart - ownCpu);
  if (exitCode !== 0) throw new Error(`the ${variant} variant failed (exit code ${exitCode}); see its output above`);
  const result = JSON.parse(await readFile(spec.resultFile, "utf8")) as VariantResult;
  const media = report(tree, (p) => p.name === "ffmpeg" || p.name === "ffprobe");
  const roles = new Map(tree.processes.map((p) => [p.pid, role(p)]));
  const timeline = coreTimeline(tree.frames, (pid) => roles.get(pid) ?? "unknown", startedMs);
  const details = result.details as unknown as PipelineDetails;
  const job = variant === "pipeline" && seenStore ? jobFigures(details, seenStore, timeline, startedMs) : undefined;
  return {
    wallSeconds: round(result.wallSeconds),
    cpuSeconds: round(result.cpu.totalSeconds, 2),
    cpu: {
      nodeProcessSeconds: round(result.cpu.selfSeconds, 2),
      childProcessesSeconds: round(result.cpu.childrenSeconds, 2),
      averageCoresBusy: round(result.cpu.totalSeconds / result.wallSeconds, 2),
    },
    // The machine is shared: CPU that processes outside this benchmark used while this variant ran.
    otherProcessesOnMachine: {
      cpuSeconds: round(otherCpu, 1),
      averageCoresBusy: round(otherCpu / processSeconds, 2),
    },
    memory: {
      largestProcess: tree.largest
        ? { role: role(tree.largest), peakRssMB: mb(tree.largest.peakRssBytes) }
        : null,
      largestMediaToolPeakRssMB: media.largest,
      peakSumRssMB: mb(tree.peakSumRssBytes),
      peakSumRssByExecutableMB: Object.fromEntries(Object.entries(tree.peakSumRssBytesByName).map(([name, bytes]) => [name, mb(bytes)])),
      samples: tree.samples,
      sampleIntervalMs: tree.intervalMs,
    },
    processes: summariseRoles(tree),
    outputs: result.outputs,
    variantProcessSeconds: round(processSeconds),
    ...(job ? { job } : {}),
    /** Frames of both cores over the variant (for the SVG; left out of the results file). */
    timeline,
    ...result.details,
  };
}

function report(tree: TreeReport, include: (p: SampledProcess) => boolean): { largest: number } {
  return { largest: mb(Math.max(0, ...tree.processes.filter(include).map((p) => p.peakRssBytes))) };
}

export type Measured = Awaited<ReturnType<typeof runVariant>>;
export type Variant = "single" | "pipeline";

export interface Round {
  round: number;
  order: Variant[];
  wallRatio: number;
  encodes: ReturnType<typeof encodesOnly>;
  single: Measured;
  pipeline: Measured;
}

/** The pipeline variant's own details (status, timings), spread into its result untyped. */
export function pipelineOutcome(pipeline: Measured): { status: string; ready: boolean; reason?: string; endSeconds: number } {
  const details = pipeline as unknown as { status?: string; reason?: string; timeToEndSeconds?: number };
  const status = String(details.status);
  return { status, ready: status === "ready", reason: details.reason, endSeconds: Number(details.timeToEndSeconds) };
}

/** Odd rounds run the single command first, even rounds the pipeline first. */
export async function runRound(index: number, clip: string, root: string, env: Record<string, string>): Promise<Round> {
  const order: Variant[] = index % 2 === 0 ? ["single", "pipeline"] : ["pipeline", "single"];
  const roundDir = join(root, `round-${index + 1}`);
  const roundEnv = { ...env, VODPIPE_DATA_DIR: join(roundDir, "data") };
  const measured: Partial<Record<Variant, Measured>> = {};
  try {
    for (const variant of order) measured[variant] = await runVariant(variant, clip, roundDir, roundEnv);
  } finally {
    await rm(roundDir, { recursive: true, force: true });
  }
  const { single, pipeline } = measured as Record<Variant, Measured>;
  return { round: index + 1, order, wallRatio: round(pipeline.wallSeconds / single.wallSeconds), encodes: encodesOnly(single, pipeline), single, pipeline };
}

/**
 * The pipeline's wall time split in two: what its encodes alone would take on every core with
 * nothing else running (their CPU over the core count), and the rest, its own overhead (ingest,
 * split, thumbnails, publish, node, idle cores). The first, over the single command's wall time,
 * is the best ratio the pipeline could reach if its overhead were zero.
 */
function encodesOnly(single: Measured, pipeline: Measured) {
  const pipelineCpu = encodeCpuSeconds(pipeline.processes);
  const wallIfOnlyEncodes = pipelineCpu / availableParallelism();
  return {
    cpuSeconds: { single: encodeCpuSeconds(single.processes), pipeline: pipelineCpu },
    pipelineWallIfOnlyEncodesSeconds: round(wallIfOnlyEncodes, 2),
    pipelineOverheadSeconds: round(pipeline.wallSeconds - wallIfOnlyEncodes, 2),
    wallRatioIfNoOverhead: round(wallIfOnlyEncodes / single.wallSeconds),
  };
}


/** What the pipeline variant reports about its job (run-variant.ts's details). */
interface PipelineDetails {
  epochMs: { started: number; created: number; firstPartStart: number; partsFinished: number; ended: number; returned: number; playable?: number };
  lowestRendition?: string;
  partTimings: Record<string, { startedAt: string; finishedAt: string; seconds: number }>;
}

/**
 * The job seen from outside: time to playable and to ready from the upload's completion, the
 * viewer replay, and where the wall time went per phase (CPU per role, other processes, idle
 * core-seconds, from the core timeline).
 */
function jobFigures(details: PipelineDetails, seen: ReturnType<ReturnType<typeof watchStore>["stop"]>, timeline: readonly TimelineFrame[], startedMs: number) {
  const e = details.epochMs;
  const uploadComplete = seen.uploadCompleteMs ?? e.created;
  const lowest = details.lowestRendition ? seen.playlists[details.lowestRendition] : undefined;
  const viewer = e.playable !== undefined && lowest ? replayViewer(lowest, seen.playlists.audio, e.playable) : null;
  const rel = (ms: number) => (ms - startedMs) / 1000;
  const phase = (from: number, to: number) => ({ wallSeconds: round((to - from) / 1000, 2), coreSeconds: sumWindow(timeline, rel(from), rel(to)) });
  // The last chunk running alone: from the moment the other chunks were all done to its own end.
  const chunkEnds = Object.entries(details.partTimings)
    .filter(([name]) => name.startsWith("chunk-"))
    .map(([, p]) => Date.parse(p.finishedAt))
    .sort((a, b) => a - b);
  const lastAlone = chunkEnds.length >= 2 ? (chunkEnds[chunkEnds.length - 1]! - chunkEnds[chunkEnds.length - 2]!) / 1000 : 0;
  return {
    uploadCompleteAfterSeconds: round((uploadComplete - e.started) / 1000, 2),
    timeToPlayableSeconds: e.playable !== undefined ? round((e.playable - uploadComplete) / 1000, 2) : null,
    readySeconds: round((e.ended - uploadComplete) / 1000, 2),
    viewer,
    segmentsSeen: Object.fromEntries(Object.entries(seen.playlists).map(([name, list]) => [name, list.map((s) => ({ start: s.start, atSeconds: round((s.seenAtMs - uploadComplete) / 1000, 2) }))])),
    phases: {
      uploadIngestSplit: phase(startedMs, e.firstPartStart),
      parts: phase(e.firstPartStart, e.partsFinished),
      publish: phase(e.partsFinished, e.ended),
      copyOutAndStop: phase(e.ended, e.returned),
    },
    lastChunkAloneSeconds: round(lastAlone, 2),
    markers: { playable: e.playable !== undefined ? rel(e.playable) : null, partsStart: rel(e.firstPartStart), partsDone: rel(e.partsFinished), ready: rel(e.ended) },
  };
}
