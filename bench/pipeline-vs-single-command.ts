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
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { finished } from "node:stream/promises";
import { loadConfig } from "../shared/config.ts";
import { ffmpegVersion, resolveFfmpegBinaries } from "../shared/media/ffmpeg-binaries.ts";
import { makeClip } from "./make-clip.ts";
import { round } from "./measure.ts";
import { mb, pipelineOutcome, runRound, type Round } from "./rounds.ts";
import { printTable, summarise } from "./summary.ts";
import { modelReport } from "./model.ts";
import { runScaling } from "./scaling.ts";
import { renderTimelineSvg } from "./timeline.ts";
import { LAMBDA_CHUNK_SECONDS } from "../infra/aws/stage-plan.ts";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const REPO_DIR = resolve(BENCH_DIR, "..");
/** Committed with the repository, so a fresh clone can run the benchmark; `--source` takes any other recording. */
const DEFAULT_SOURCE = resolve(REPO_DIR, "test/fixtures/sowt-with-video.mov");
const WALL_RATIO_TARGET = 0.97;
const OVERHEAD_SHARE_TARGET = 0.03;
const PLAYABLE_TARGET_SECONDS = 5;
const PSNR_DELTA_TARGET_DB = 0.1;
const SPEEDUP_TARGET = 1.8;
const MB = 1024 * 1024;

interface Options {
  seconds: number;
  rounds: number;
  source: string;
  scaling: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { seconds: 60, rounds: 2, source: DEFAULT_SOURCE, scaling: true };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--seconds" && value) {
      options.seconds = Number(value);
      i += 1;
    } else if (arg === "--rounds" && value) {
      options.rounds = Number(value);
      i += 1;
    } else if (arg === "--no-scaling") {
      options.scaling = false;
    } else if (arg === "--source" && value) {
      options.source = resolve(value);
      i += 1;
    } else {
      throw new Error(`unknown argument ${arg}; usage: bench [--seconds N] [--rounds N] [--source file] [--no-scaling]`);
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

/** Reads the clip once so both variants start with it in the page cache. */
async function warmPageCache(path: string): Promise<void> {
  const stream = createReadStream(path);
  stream.resume();
  await finished(stream);
}

const RESULTS_DIR = join(BENCH_DIR, "results");
const RESULTS_FILE = join(RESULTS_DIR, "latest.json");

/** latest.json and <date>.json (<date>-<N>s.json for a clip other than the 60 s one); the core timelines go to the SVG only. */
async function writeResults(results: { startedAt: string }, seconds: number, svg?: string): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const base = `${results.startedAt.slice(0, 10)}${seconds === 60 ? "" : `-${seconds}s`}`;
  const text = `${JSON.stringify(results, (key, value) => (key === "timeline" ? undefined : value), 2)}\n`;
  const written = [RESULTS_FILE, join(RESULTS_DIR, `${base}.json`)];
  for (const file of written) await writeFile(file, text);
  if (svg) {
    for (const file of [join(RESULTS_DIR, "latest.svg"), join(RESULTS_DIR, `${base}.svg`)]) await writeFile(file, svg);
    written.push(join(RESULTS_DIR, `${base}.svg`));
  }
  return written;
}

type ScalingResults = Awaited<ReturnType<typeof runScaling>> & { loadAverageBefore: number; loadAverageAfter: number; model: ReturnType<typeof modelReport> };

function pipelineMarks(markers: { playable: number | null; partsStart: number; partsDone: number; ready: number }) {
  return [
    { t: markers.partsStart, label: "parts start" },
    ...(markers.playable !== null ? [{ t: markers.playable, label: "playable" }] : []),
    { t: markers.partsDone, label: "parts done" },
    { t: markers.ready, label: "ready" },
  ];
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
        await writeResults({ benchmark: "pipeline-vs-single-command", startedAt, clip, rounds, error: String(error) } as { startedAt: string }, options.seconds);
        throw error;
      }
      const last = rounds[rounds.length - 1]!;
      process.stderr.write(`bench: round ${last.round}: single ${last.single.wallSeconds.toFixed(1)} s, pipeline ${last.pipeline.wallSeconds.toFixed(1)} s, ratio ${last.wallRatio.toFixed(3)}\n`);
      if (!pipelineOutcome(last.pipeline).ready) break;
    }
    const loadAfter = loadavg();

    const summary = summarise(rounds);
    let scaling: ScalingResults | null = null;
    const failedRound = rounds.find((r) => !pipelineOutcome(r.pipeline).ready);
    const outcome = pipelineOutcome((failedRound ?? rounds[rounds.length - 1]!).pipeline);
    const largestRss = Math.max(summary.largestProcessRssMB.pipeline, summary.largestProcessRssMB.single);
    const assemble = () => ({
      benchmark: "pipeline-vs-single-command",
      startedAt,
      // The headline figures (means over rounds; ratios of sums); the rest below says how they were got.
      wallRatio: summary.wallRatio,
      cpuRatio: summary.cpuRatio,
      timeToPlayableSeconds: summary.timeToPlayableSeconds,
      readySeconds: summary.readySeconds,
      baselineSeconds: summary.wallSeconds.single,
      psnrDeltaDb: Object.fromEntries(Object.entries(summary.psnrDeltaDb).map(([name, q]) => [name, q.deltaDb])),
      scalingSpeedup2: scaling?.speedup2 ?? null,
      overheadShare: summary.overheadShare,
      peakRssMb: {
        largestProcess: { pipeline: summary.largestProcessRssMB.pipeline, single: summary.largestProcessRssMB.single, largest: largestRss },
        summed: summary.peakSumRssMB,
      },
      machine: {
        cores: availableParallelism(),
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
          overheadShare: { target: `<= ${OVERHEAD_SHARE_TARGET}`, value: summary.overheadShare, met: summary.overheadShare <= OVERHEAD_SHARE_TARGET },
          timeToPlayable: { target: `<= ${PLAYABLE_TARGET_SECONDS} s`, value: summary.timeToPlayableSeconds, met: summary.timeToPlayableSeconds !== null && summary.timeToPlayableSeconds <= PLAYABLE_TARGET_SECONDS },
          viewerStalls: { target: "0", value: summary.viewerStalls, met: summary.viewerStalls === 0 },
          psnrDelta: {
            target: `within ${PSNR_DELTA_TARGET_DB} dB per rung`,
            value: Object.fromEntries(Object.entries(summary.psnrDeltaDb).map(([name, q]) => [name, q.deltaDb])),
            met: Object.values(summary.psnrDeltaDb).every((q) => Math.abs(q.deltaDb) <= PSNR_DELTA_TARGET_DB),
          },
          scalingSpeedup2: { target: `>= ${SPEEDUP_TARGET}`, value: scaling?.speedup2 ?? null, met: scaling ? scaling.speedup2 >= SPEEDUP_TARGET : null },
          wallRatio: { target: `<= ${WALL_RATIO_TARGET}`, value: summary.wallRatio, met: summary.wallRatio <= WALL_RATIO_TARGET },
          largestProcessRss: {
            target: `no pipeline process above the single command's peak (${summary.largestProcessRssMB.single} MB)`,
            valueMB: summary.largestProcessRssMB.pipeline,
            met: summary.largestProcessRssMB.pipeline <= summary.largestProcessRssMB.single,
          },
        },
      },
      scaling,
      rounds,
    });
    const svg = renderTimelineSvg(
      rounds.flatMap((r) =>
        r.order.map((variant) => ({
          title: `round ${r.round}: ${variant === "single" ? "single ffmpeg command" : "vodpipe pipeline"}, ${r[variant].wallSeconds.toFixed(1)} s`,
          timeline: r[variant].timeline,
          marks: variant === "pipeline" && r.pipeline.job ? pipelineMarks(r.pipeline.job.markers) : [],
        })),
      ),
      `${options.seconds} s 1080p clip, ${availableParallelism()} cores, load average ${loadBefore[0]!.toFixed(2)} → ${loadAfter[0]!.toFixed(2)}; ` +
        "CPU per 100 ms on each core by role (threads put on the core they last ran on); grey: other processes on the machine; white: idle",
    );
    // The rounds are saved before the scaling runs, which take minutes more.
    let written = await writeResults(assemble(), options.seconds, svg);
    if (options.scaling) {
      const loadBeforeScaling = loadavg()[0]!;
      const measured = await runScaling({ path: clip.path, seconds: options.seconds }, root, vodpipeEnv);
      // The model's components come from the 1-worker run: every part measured on one core, uncontended.
      scaling = { ...measured, loadAverageBefore: round(loadBeforeScaling, 2), loadAverageAfter: round(loadavg()[0]!, 2), model: modelReport(measured.runs[0]!.components, LAMBDA_CHUNK_SECONDS) };
      process.stderr.write(`bench: scaling: ${measured.runs.map((r) => `${r.workers} worker(s) ${r.readySeconds} s`).join(", ")}; speed-up ${measured.speedup2}\n`);
    }
    if (scaling) written = await writeResults(assemble(), options.seconds, svg);
    const results = assemble();

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
    process.stdout.write(
      `overhead ${(summary.overheadShare * 100).toFixed(1)}% of the pipeline's wall (target <= ${OVERHEAD_SHARE_TARGET * 100}%); ` +
        `playable ${summary.timeToPlayableSeconds ?? "-"} s after upload (target <= ${PLAYABLE_TARGET_SECONDS} s), viewer stalls ${summary.viewerStalls ?? "-"}\n`,
    );
    if (scaling) {
      process.stdout.write(`\nscaling on S3 + SQS (fauxqs), transcode workers pinned one per core: ${scaling.runs.map((r) => `${r.workers}: ${r.readySeconds} s`).join(", ")}; speed-up ${scaling.speedup2} (target >= ${SPEEDUP_TARGET})\n`);
      process.stdout.write(`model (components of the 1-worker run): ${scaling.model.predictions.map((p) => `${p.workers}w/${p.chunkSeconds}s ${p.seconds} s`).join(", ")}; Lambda (${scaling.model.lambda.chunkSeconds} s chunks) ${scaling.model.lambda.seconds} s\n`);
    }
    process.stdout.write(`written: ${written.map((file) => relative(REPO_DIR, file)).join(", ")}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
