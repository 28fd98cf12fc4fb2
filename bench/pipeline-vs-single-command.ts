/**
 * `npm run bench`: the same 1080p clip through (a) the single ffmpeg command that writes the same
 * ladder with the same x264 settings and (b) vodpipe's whole pipeline (embedded store and queues),
 * one after the other in this run. Prints a table and writes bench/results/latest.json.
 *
 *   npm run bench                      the 60 s clip (several minutes)
 *   npm run bench -- --seconds 12      a quick run on a 12 s clip
 *   npm run bench -- --source <file>   loop another real recording instead
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { finished } from "node:stream/promises";
import { loadConfig } from "../shared/config.ts";
import { ffmpegVersion, resolveFfmpegBinaries } from "../shared/media/ffmpeg-binaries.ts";
import { makeClip } from "./make-clip.ts";
import { cpuSince, machineBusySeconds, markCpu, startTreeSampler, type SampledProcess, type TreeReport } from "./measure.ts";
import type { VariantResult, VariantSpec } from "./run-variant.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const REPO_DIR = resolve(BENCH_DIR, "..");
const DEFAULT_SOURCE = resolve(REPO_DIR, "../shared/media/sowt-with-video.mov");
const WALL_RATIO_TARGET = 0.95;
const MB = 1024 * 1024;

interface Options {
  seconds: number;
  source: string;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { seconds: 60, source: DEFAULT_SOURCE };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--seconds" && value) {
      options.seconds = Number(value);
      i += 1;
    } else if (arg === "--source" && value) {
      options.source = resolve(value);
      i += 1;
    } else {
      throw new Error(`unknown argument ${arg}; usage: bench [--seconds N] [--source file]`);
    }
  }
  if (!Number.isInteger(options.seconds) || options.seconds < 4 || options.seconds > 3600) {
    throw new Error("--seconds takes a whole number of seconds from 4 to 3600");
  }
  return options;
}

/** What a process in the tree was doing, from its command line. */
function role(p: SampledProcess): string {
  const cmd = p.commandLine;
  if (p.name === "ffprobe") return "ffprobe";
  if (p.name === "ffmpeg") {
    if (cmd.includes("libx264")) return "ffmpeg transcode";
    if (cmd.includes(" -c copy ")) return "ffmpeg split";
    if (cmd.includes(" -c:a aac ")) return "ffmpeg audio";
    return "ffmpeg other (thumbnails, checks)";
  }
  if (cmd.includes("run-variant.ts")) return "node (variant process)";
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

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;
const mb = (bytes: number) => Math.round(bytes / MB);

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
  const child = spawn(process.execPath, [join(REPO_DIR, "bin/run-ts.js"), join(BENCH_DIR, "run-variant.ts"), variant, specPath], {
    cwd: REPO_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const sampler = startTreeSampler(child.pid!, 100);
  const exitCode = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveExit(code));
  });
  const tree = sampler.stop();
  const processSeconds = (performance.now() - started) / 1000;
  // This process and the variant process it waited for (with everything that one waited for).
  const ownCpu = cpuSince(ownStart).totalSeconds;
  const otherCpu = Math.max(0, machineBusySeconds() - machineStart - ownCpu);
  if (exitCode !== 0) throw new Error(`the ${variant} variant failed (exit code ${exitCode}); see its output above`);
  const result = JSON.parse(await readFile(spec.resultFile, "utf8")) as VariantResult;
  const media = report(tree, (p) => p.name === "ffmpeg" || p.name === "ffprobe");
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
    ...result.details,
  };
}

function report(tree: TreeReport, include: (p: SampledProcess) => boolean): { largest: number } {
  return { largest: mb(Math.max(0, ...tree.processes.filter(include).map((p) => p.peakRssBytes))) };
}

/** Reads the clip once so both variants start with it in the page cache. */
async function warmPageCache(path: string): Promise<void> {
  const stream = createReadStream(path);
  stream.resume();
  await finished(stream);
}

type Measured = Awaited<ReturnType<typeof runVariant>>;

function printTable(single: Measured, pipeline: Measured, end: { seconds: number; ready: boolean }) {
  const rows: Array<[string, string, string, string]> = [
    ["", "single", "pipeline", "pipeline/single"],
    ["wall (s)", single.wallSeconds.toFixed(1), pipeline.wallSeconds.toFixed(1), (pipeline.wallSeconds / single.wallSeconds).toFixed(3)],
    [end.ready ? "time to ready (s)" : "time to FAILED (s)", "-", end.seconds.toFixed(1), (end.seconds / single.wallSeconds).toFixed(3)],
    ["CPU (s)", single.cpuSeconds.toFixed(1), pipeline.cpuSeconds.toFixed(1), (pipeline.cpuSeconds / single.cpuSeconds).toFixed(3)],
    [
      "largest process RSS (MB)",
      String(single.memory.largestMediaToolPeakRssMB),
      String(pipeline.memory.largestProcess?.peakRssMB ?? 0),
      `(${pipeline.memory.largestProcess?.role ?? "?"})`,
    ],
    ["peak sum of RSS (MB)", String(single.memory.peakSumRssMB), String(pipeline.memory.peakSumRssMB), ""],
    [
      "other load (cores busy)",
      single.otherProcessesOnMachine.averageCoresBusy.toFixed(2),
      pipeline.otherProcessesOnMachine.averageCoresBusy.toFixed(2),
      "",
    ],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) {
    process.stdout.write(`${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")}\n`);
  }
}

const RESULTS_FILE = join(BENCH_DIR, "results", "latest.json");

async function writeResults(results: unknown): Promise<void> {
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const root = await mkdtemp(join(tmpdir(), "vodpipe-bench-"));
  try {
    // Any VODPIPE_* setting the caller exported applies to both variants; storage is always a fresh temp folder.
    const vodpipeEnv: Record<string, string> = {
      VODPIPE_LOG_LEVEL: "silent",
      ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("VODPIPE_") && e[1] !== undefined)),
      VODPIPE_DATA_DIR: join(root, "data"),
      VODPIPE_TMP_DIR: join(root, "tmp"),
    };
    await mkdir(vodpipeEnv.VODPIPE_TMP_DIR!, { recursive: true });
    const config = loadConfig(vodpipeEnv);
    const binaries = resolveFfmpegBinaries({ ffmpegPath: config.ffmpeg.ffmpegPath, ffprobePath: config.ffmpeg.ffprobePath });

    process.stderr.write(`bench: preparing a ${options.seconds} s clip from ${basename(options.source)}…\n`);
    const clip = await makeClip({ ffmpeg: binaries.ffmpeg, source: options.source, seconds: options.seconds, workDir: join(BENCH_DIR, "work") });
    await warmPageCache(clip.path);

    const loadBefore = loadavg();
    const startedAt = new Date().toISOString();
    const single = await runVariant("single", clip.path, root, vodpipeEnv);
    let pipeline: Measured;
    try {
      pipeline = await runVariant("pipeline", clip.path, root, vodpipeEnv);
    } catch (error) {
      // Keep the single command's numbers: they took minutes to get.
      await writeResults({ benchmark: "pipeline-vs-single-command", startedAt, clip, results: { single }, error: String(error) });
      throw error;
    }
    const loadAfter = loadavg();

    // The variant's own details (status, timings) are spread into its result untyped.
    const pipelineDetails = pipeline as unknown as { status?: string; reason?: string; timeToEndSeconds?: number };
    const status = String(pipelineDetails.status);
    const ready = status === "ready";
    const endSeconds = Number(pipelineDetails.timeToEndSeconds);
    const wallRatio = round(pipeline.wallSeconds / single.wallSeconds);
    const pipelineLargest = pipeline.memory.largestProcess?.peakRssMB ?? 0;
    const results = {
      benchmark: "pipeline-vs-single-command",
      startedAt,
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? "unknown",
        totalMemoryMB: mb(totalmem()),
        node: process.version,
        ffmpeg: ffmpegVersion(binaries.ffmpeg),
        ffmpegPath: binaries.ffmpeg,
        // The machine is shared: a high load average means the two runs competed with other work.
        loadAverageBefore: loadBefore.map((v) => round(v, 2)),
        loadAverageAfter: loadAfter.map((v) => round(v, 2)),
      },
      clip: { ...clip, path: relative(REPO_DIR, clip.path), command: ["ffmpeg", ...clip.command.map((a) => (a.startsWith(REPO_DIR) ? relative(REPO_DIR, a) : a))] },
      settings: {
        ladder: config.media.ladder.map((r) => r.name),
        x264Preset: config.media.x264Preset,
        segmentSeconds: config.media.segmentSeconds,
        chunkSeconds: config.media.chunkSeconds,
        transcodeConcurrency: config.worker.transcodeConcurrency,
        pipelineThreadsPerFfmpeg: config.ffmpeg.threads || Math.max(1, Math.floor(availableParallelism() / config.worker.transcodeConcurrency)),
        singleCommandThreads: "ffmpeg default (-threads 0: decoder and every libx264 encoder use all cores)",
        storage: "embedded filesystem object store + SQLite queues, in a temp folder",
        order: ["single", "pipeline"],
        vodpipeEnvironment: Object.fromEntries(Object.entries(vodpipeEnv).filter(([name]) => !["VODPIPE_DATA_DIR", "VODPIPE_TMP_DIR"].includes(name))),
        measurement:
          "wall: performance.now() around the ffmpeg command / processFile(); CPU: process.cpuUsage() of the variant's node " +
          "process + cutime/cstime of its waited-for children from /proc/self/stat; memory: /proc sampled every 100 ms over " +
          "the variant's whole process tree (VmHWM per process, VmRSS summed per sample)",
      },
      results: { single, pipeline },
      comparison: {
        wallRatio,
        pipelineStatus: status,
        ...(ready ? {} : { pipelineFailure: pipelineDetails.reason, note: "the job failed after doing all its work (publish's check rejected the output): wall, CPU and memory are measured, but the pipeline did not deliver a playable video" }),
        timeToReadyRatio: ready ? round(endSeconds / single.wallSeconds) : null,
        cpuRatio: round(pipeline.cpuSeconds / single.cpuSeconds),
        targets: {
          wallRatio: { target: `<= ${WALL_RATIO_TARGET}`, value: wallRatio, met: wallRatio <= WALL_RATIO_TARGET },
          largestProcessRss: {
            target: `no pipeline process above the single command's peak (${single.memory.largestMediaToolPeakRssMB} MB)`,
            valueMB: pipelineLargest,
            met: pipelineLargest <= single.memory.largestMediaToolPeakRssMB,
          },
        },
      },
    };
    await writeResults(results);

    process.stdout.write(`\n${options.seconds} s 1080p clip (${clip.source}, looped), ladder ${results.settings.ladder.join("/")}, ${config.media.x264Preset}, load ${loadBefore[0]!.toFixed(2)} → ${loadAfter[0]!.toFixed(2)}\n`);
    printTable(single, pipeline, { seconds: endSeconds, ready });
    if (!ready) process.stdout.write(`\nthe pipeline's job ended ${status}: ${String(pipelineDetails.reason)}\n`);
    const t = results.comparison.targets;
    process.stdout.write(
      `\ntargets: wall ratio ${wallRatio} ${t.wallRatio.met ? "meets" : "MISSES"} ${t.wallRatio.target}; ` +
        `largest pipeline process ${pipelineLargest} MB ${t.largestProcessRss.met ? "within" : "ABOVE"} the single command's ${single.memory.largestMediaToolPeakRssMB} MB\n`,
    );
    process.stdout.write(`written: ${relative(REPO_DIR, RESULTS_FILE)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
