/**
 * `npm run bench`: the same 1080p clip through (a) the single ffmpeg command that writes the same
 * ladder with the same x264 settings and (b) vodpipe's whole pipeline (embedded store and queues),
 * in this run, in rounds whose order alternates (single then pipeline, then pipeline then single), so
 * that a machine getting slower or faster during the run weighs on both sides alike. Prints a
 * table and writes bench/results/latest.json.
 *
 *   npm run bench                      the 60 s clip, 2 rounds (about ten minutes)
 *   npm run bench -- --seconds 12      a quick run on a 12 s clip
 *   npm run bench -- --rounds 1        one round only
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
import { cpuSince, machineBusySeconds, markCpu, round, startTreeSampler, type SampledProcess, type TreeReport } from "./measure.ts";
import type { VariantResult, VariantSpec } from "./run-variant.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const REPO_DIR = resolve(BENCH_DIR, "..");
/** Committed with the repository, so a fresh clone can run the benchmark; `--source` takes any other recording. */
const DEFAULT_SOURCE = resolve(REPO_DIR, "test/fixtures/sowt-with-video.mov");
const WALL_RATIO_TARGET = 0.95;
const MB = 1024 * 1024;

interface Options {
  seconds: number;
  rounds: number;
  source: string;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { seconds: 60, rounds: 2, source: DEFAULT_SOURCE };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--seconds" && value) {
      options.seconds = Number(value);
      i += 1;
    } else if (arg === "--rounds" && value) {
      options.rounds = Number(value);
      i += 1;
    } else if (arg === "--source" && value) {
      options.source = resolve(value);
      i += 1;
    } else {
      throw new Error(`unknown argument ${arg}; usage: bench [--seconds N] [--rounds N] [--source file]`);
    }
  }
  if (!Number.isInteger(options.seconds) || options.seconds < 4 || options.seconds > 3600) {
    throw new Error("--seconds takes a whole number of seconds from 4 to 3600");
  }
  if (!Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 10) {
    throw new Error("--rounds takes a whole number from 1 to 10");
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

const mb = (bytes: number) => Math.round(bytes / MB);

/** Sampled CPU of the ffmpegs that encode the ladder and the audio: the work both variants must do. */
function encodeCpuSeconds(processes: readonly RoleSummary[]): number {
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
type Variant = "single" | "pipeline";

interface Round {
  round: number;
  order: Variant[];
  wallRatio: number;
  encodes: ReturnType<typeof encodesOnly>;
  single: Measured;
  pipeline: Measured;
}

/** The pipeline variant's own details (status, timings), spread into its result untyped. */
function pipelineOutcome(pipeline: Measured): { status: string; ready: boolean; reason?: string; endSeconds: number } {
  const details = pipeline as unknown as { status?: string; reason?: string; timeToEndSeconds?: number };
  const status = String(details.status);
  return { status, ready: status === "ready", reason: details.reason, endSeconds: Number(details.timeToEndSeconds) };
}

/** Every round's figures folded into one: means of times, ratios of sums, maxima of memory. */
function summarise(rounds: readonly Round[]) {
  const sumOf = (pick: (r: Round) => number) => rounds.reduce((sum, r) => sum + pick(r), 0);
  const meanOf = (pick: (r: Round) => number) => sumOf(pick) / rounds.length;
  const total = (variant: Variant, pick: (m: Measured) => number) => sumOf((r) => pick(r[variant]));
  const mean = (variant: Variant, pick: (m: Measured) => number) => meanOf((r) => pick(r[variant]));
  const most = (variant: Variant, pick: (m: Measured) => number) => Math.max(...rounds.map((r) => pick(r[variant])));
  const wall = (m: Measured) => m.wallSeconds;
  const cpu = (m: Measured) => m.cpuSeconds;
  const largestPipeline = rounds
    .map((r) => r.pipeline.memory.largestProcess)
    .reduce((a, b) => ((b?.peakRssMB ?? 0) > (a?.peakRssMB ?? 0) ? b : a), null);
  const ratios = rounds.map((r) => r.wallRatio);
  return {
    rounds: rounds.length,
    wallSeconds: { single: round(mean("single", wall), 1), pipeline: round(mean("pipeline", wall), 1) },
    wallRatio: round(total("pipeline", wall) / total("single", wall)),
    wallRatioPerRound: ratios,
    wallRatioSpread: round(Math.max(...ratios) - Math.min(...ratios)),
    timeToReadySeconds: round(rounds.reduce((sum, r) => sum + pipelineOutcome(r.pipeline).endSeconds, 0) / rounds.length, 1),
    cpuSeconds: { single: round(mean("single", cpu), 1), pipeline: round(mean("pipeline", cpu), 1) },
    cpuRatio: round(total("pipeline", cpu) / total("single", cpu)),
    encodes: {
      cpuSeconds: { single: round(meanOf((r) => r.encodes.cpuSeconds.single), 1), pipeline: round(meanOf((r) => r.encodes.cpuSeconds.pipeline), 1) },
      cpuRatio: round(sumOf((r) => r.encodes.cpuSeconds.pipeline) / sumOf((r) => r.encodes.cpuSeconds.single)),
      pipelineWallIfOnlyEncodesSeconds: round(meanOf((r) => r.encodes.pipelineWallIfOnlyEncodesSeconds), 1),
      pipelineOverheadSeconds: round(meanOf((r) => r.encodes.pipelineOverheadSeconds), 2),
      wallRatioIfNoOverhead: round(sumOf((r) => r.encodes.pipelineWallIfOnlyEncodesSeconds) / total("single", wall)),
      wallRatioIfNoOverheadPerRound: rounds.map((r) => r.encodes.wallRatioIfNoOverhead),
    },
    largestProcessRssMB: {
      single: most("single", (m) => m.memory.largestMediaToolPeakRssMB),
      pipeline: largestPipeline?.peakRssMB ?? 0,
      pipelineRole: largestPipeline?.role ?? "?",
    },
    peakSumRssMB: { single: most("single", (m) => m.memory.peakSumRssMB), pipeline: most("pipeline", (m) => m.memory.peakSumRssMB) },
    otherLoadCoresBusy: {
      single: most("single", (m) => m.otherProcessesOnMachine.averageCoresBusy),
      pipeline: most("pipeline", (m) => m.otherProcessesOnMachine.averageCoresBusy),
    },
  };
}

type Summary = ReturnType<typeof summarise>;

function printTable(summary: Summary, ready: boolean) {
  const ratio = (a: number, b: number) => (a / b).toFixed(3);
  const rows: Array<[string, string, string, string]> = [
    ["", "single", "pipeline", "pipeline/single"],
    ["wall (s)", summary.wallSeconds.single.toFixed(1), summary.wallSeconds.pipeline.toFixed(1), summary.wallRatio.toFixed(3)],
    [
      ready ? "time to ready (s)" : "time to FAILED (s)",
      "-",
      summary.timeToReadySeconds.toFixed(1),
      ratio(summary.timeToReadySeconds, summary.wallSeconds.single),
    ],
    ["CPU (s)", summary.cpuSeconds.single.toFixed(1), summary.cpuSeconds.pipeline.toFixed(1), summary.cpuRatio.toFixed(3)],
    ["  of which the encodes (s)", summary.encodes.cpuSeconds.single.toFixed(1), summary.encodes.cpuSeconds.pipeline.toFixed(1), summary.encodes.cpuRatio.toFixed(3)],
    [
      "wall if only the encodes ran (s)",
      "-",
      summary.encodes.pipelineWallIfOnlyEncodesSeconds.toFixed(1),
      summary.encodes.wallRatioIfNoOverhead.toFixed(3),
    ],
    ["pipeline's own overhead (s)", "-", summary.encodes.pipelineOverheadSeconds.toFixed(1), ""],
    [
      "largest process RSS (MB)",
      String(summary.largestProcessRssMB.single),
      String(summary.largestProcessRssMB.pipeline),
      `(${summary.largestProcessRssMB.pipelineRole})`,
    ],
    ["peak sum of RSS (MB)", String(summary.peakSumRssMB.single), String(summary.peakSumRssMB.pipeline), ""],
    ["other load (cores busy)", summary.otherLoadCoresBusy.single.toFixed(2), summary.otherLoadCoresBusy.pipeline.toFixed(2), ""],
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

/** Odd rounds run the single command first, even rounds the pipeline first. */
async function runRound(index: number, clip: string, root: string, env: Record<string, string>): Promise<Round> {
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
    const rounds: Round[] = [];
    for (let index = 0; index < options.rounds; index += 1) {
      process.stderr.write(`bench: round ${index + 1} of ${options.rounds}\n`);
      try {
        rounds.push(await runRound(index, clip.path, root, vodpipeEnv));
      } catch (error) {
        // Keep the rounds already measured: they took minutes to get.
        await writeResults({ benchmark: "pipeline-vs-single-command", startedAt, clip, rounds, error: String(error) });
        throw error;
      }
      const last = rounds[rounds.length - 1]!;
      process.stderr.write(`bench: round ${last.round}: single ${last.single.wallSeconds.toFixed(1)} s, pipeline ${last.pipeline.wallSeconds.toFixed(1)} s, ratio ${last.wallRatio.toFixed(3)}\n`);
      if (!pipelineOutcome(last.pipeline).ready) break;
    }
    const loadAfter = loadavg();

    const summary = summarise(rounds);
    const failedRound = rounds.find((r) => !pipelineOutcome(r.pipeline).ready);
    const outcome = pipelineOutcome((failedRound ?? rounds[rounds.length - 1]!).pipeline);
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
        // The machine is shared: a high load average means the runs competed with other work.
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
        rounds: options.rounds,
        order: "alternating: round 1 single then pipeline, round 2 pipeline then single, …",
        vodpipeEnvironment: Object.fromEntries(Object.entries(vodpipeEnv).filter(([name]) => !["VODPIPE_DATA_DIR", "VODPIPE_TMP_DIR"].includes(name))),
        measurement:
          "wall: performance.now() around the ffmpeg command / processFile(); CPU: process.cpuUsage() of the variant's node " +
          "process + cutime/cstime of its waited-for children from /proc/self/stat; memory: /proc sampled every 100 ms over " +
          "the variant's whole process tree (VmHWM per process, VmRSS summed per sample); ratios: sum over rounds / sum over rounds",
      },
      summary,
      comparison: {
        wallRatio: summary.wallRatio,
        pipelineStatus: outcome.status,
        ...(outcome.ready
          ? {}
          : {
              pipelineFailure: outcome.reason,
              note: "the job failed after doing all its work (publish's check rejected the output): wall, CPU and memory are measured, but the pipeline did not deliver a playable video",
            }),
        timeToReadyRatio: outcome.ready ? round(summary.timeToReadySeconds / summary.wallSeconds.single) : null,
        cpuRatio: summary.cpuRatio,
        targets: {
          wallRatio: { target: `<= ${WALL_RATIO_TARGET}`, value: summary.wallRatio, met: summary.wallRatio <= WALL_RATIO_TARGET },
          largestProcessRss: {
            target: `no pipeline process above the single command's peak (${summary.largestProcessRssMB.single} MB)`,
            valueMB: summary.largestProcessRssMB.pipeline,
            met: summary.largestProcessRssMB.pipeline <= summary.largestProcessRssMB.single,
          },
        },
      },
      rounds,
    };
    await writeResults(results);

    const perRound = rounds.map((r) => `${r.wallRatio.toFixed(3)} (${r.order[0]} first)`).join(", ");
    const boundPerRound = rounds.map((r) => r.encodes.wallRatioIfNoOverhead.toFixed(3)).join(", ");
    process.stdout.write(
      `\n${options.seconds} s 1080p clip (${clip.source}, looped), ladder ${results.settings.ladder.join("/")}, ${config.media.x264Preset}, ` +
        `${rounds.length} round(s), load ${loadBefore[0]!.toFixed(2)} → ${loadAfter[0]!.toFixed(2)}\n`,
    );
    printTable(summary, outcome.ready);
    process.stdout.write(`\nwall ratio per round: ${perRound}\nthe same with no pipeline overhead: ${boundPerRound}\n`);
    if (!outcome.ready) process.stdout.write(`\nthe pipeline's job ended ${outcome.status}: ${String(outcome.reason)}\n`);
    const t = results.comparison.targets;
    process.stdout.write(
      `\ntargets: wall ratio ${summary.wallRatio} ${t.wallRatio.met ? "meets" : "MISSES"} ${t.wallRatio.target}; ` +
        `largest pipeline process ${summary.largestProcessRssMB.pipeline} MB ${t.largestProcessRss.met ? "within" : "ABOVE"} the single command's ${summary.largestProcessRssMB.single} MB\n`,
    );
    process.stdout.write(`written: ${relative(REPO_DIR, RESULTS_FILE)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
