/**
 * The README's benchmark table, rendered from bench/results/latest.json so the figures users read
 * are the ones the last `npm run bench` wrote. `npm run bench:readme` rewrites the block between
 * the markers; test/unit/readme.test.ts fails when the README and latest.json disagree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BENCH_TABLE_START = "<!-- bench-table:start (generated from bench/results/latest.json by `npm run bench:readme`; do not edit) -->";
export const BENCH_TABLE_END = "<!-- bench-table:end -->";

/** The fields of latest.json the table shows (the file holds much more: rounds, phases, per-part timings). */
export interface BenchResults {
  startedAt: string;
  machine: { cores?: number; cpus?: number; node: string; ffmpeg: string };
  /** Issue 17's figures; absent in results written before them. */
  timeToPlayableSeconds?: number | null;
  readySeconds?: number | null;
  overheadShare?: number;
  psnrDeltaDb?: Record<string, number>;
  scalingSpeedup2?: number | null;
  scaling?: { runs: Array<{ workers: number; readySeconds: number }> } | null;
  clip: { seconds: number };
  settings: { ladder: string[]; x264Preset: string; rounds: number };
  summary: {
    rounds: number;
    wallSeconds: { single: number; pipeline: number };
    wallRatio: number;
    timeToReadySeconds: number;
    cpuSeconds: { single: number; pipeline: number };
    cpuRatio: number;
    largestProcessRssMB: { single: number; pipeline: number };
    peakSumRssMB: { single: number; pipeline: number };
    viewerStalls?: number | null;
    encodes?: { pipelineOverheadSeconds: number };
    psnrDeltaDb?: Record<string, { singlePsnr: number; pipelinePsnr: number; deltaDb: number }>;
  };
  comparison: { timeToReadyRatio: number };
}

const seconds = (value: number): string => `${value.toFixed(1)} s`;
const ratio = (value: number): string => value.toFixed(3);
const megabytes = (value: number): string => `${Math.round(value)} MB`;

/** The markdown between the markers: what was run, the command that repeats it, and one table. */
export function renderBenchTable(results: BenchResults): string {
  const { machine, summary, clip, settings } = results;
  const ffmpegVersion = /ffmpeg version (\S+)/.exec(machine.ffmpeg)?.[1] ?? machine.ffmpeg;
  const day = results.startedAt.slice(0, 10);
  const rows = [
    ["wall time", seconds(summary.wallSeconds.single), seconds(summary.wallSeconds.pipeline), `**${ratio(summary.wallRatio)}**`],
    ["time to `ready`", "–", seconds(summary.timeToReadySeconds), ratio(results.comparison.timeToReadyRatio)],
    ["CPU time", seconds(summary.cpuSeconds.single), seconds(summary.cpuSeconds.pipeline), ratio(summary.cpuRatio)],
    [
      "largest process RSS",
      megabytes(summary.largestProcessRssMB.single),
      megabytes(summary.largestProcessRssMB.pipeline),
      ratio(summary.largestProcessRssMB.pipeline / summary.largestProcessRssMB.single),
    ],
    [
      "peak RSS summed over processes",
      megabytes(summary.peakSumRssMB.single),
      megabytes(summary.peakSumRssMB.pipeline),
      ratio(summary.peakSumRssMB.pipeline / summary.peakSumRssMB.single),
    ],
  ];
  if (typeof results.timeToPlayableSeconds === "number") {
    rows.splice(1, 0, ["time to playable, from upload complete", "–", seconds(results.timeToPlayableSeconds), `${summary.viewerStalls ?? "–"} stalls at 1×`]);
  }
  if (typeof results.readySeconds === "number") {
    rows[rows.length === 5 ? 1 : 2]![0] = "time to `ready`, from the start of the upload";
    rows.splice(2, 0, ["time to `ready`, from upload complete", "–", seconds(results.readySeconds), ""]);
  }
  if (typeof results.overheadShare === "number" && summary.encodes) {
    rows.push(["the pipeline's own overhead (wall beyond its encodes)", "–", seconds(summary.encodes.pipelineOverheadSeconds), `${(results.overheadShare * 100).toFixed(1)}% of its wall`]);
  }
  for (const [name, q] of Object.entries(summary.psnrDeltaDb ?? {})) {
    rows.push([`luma PSNR, ${name}`, `${q.singlePsnr.toFixed(2)} dB`, `${q.pipelinePsnr.toFixed(2)} dB`, `${q.deltaDb >= 0 ? "+" : ""}${q.deltaDb.toFixed(2)} dB`]);
  }
  if (results.scaling && typeof results.scalingSpeedup2 === "number") {
    const [one, two] = results.scaling.runs;
    rows.push(["S3 + SQS, 1 → 2 pinned transcode workers", one ? seconds(one.readySeconds) : "–", two ? seconds(two.readySeconds) : "–", `${results.scalingSpeedup2.toFixed(2)}× faster`]);
  }
  return [
    `A ${clip.seconds} s 1080p50 clip into the ${settings.ladder.join("/")} ladder (x264 ${settings.x264Preset}) and AAC audio, ` +
      `${machine.cores ?? machine.cpus} cores, ffmpeg ${ffmpegVersion}, Node ${machine.node.replace(/^v/, "")}, ${day}; ` +
      `means of ${summary.rounds} rounds, ratios of sums:`,
    "",
    "```sh",
    `npm run bench -- --rounds ${summary.rounds}${clip.seconds === 60 ? "" : ` --seconds ${clip.seconds}`}`,
    "```",
    "",
    "| | single ffmpeg command | vodpipe pipeline | pipeline / single |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}

function blockBounds(readme: string): { start: number; end: number } {
  const start = readme.indexOf(BENCH_TABLE_START);
  const end = readme.indexOf(BENCH_TABLE_END);
  if (start < 0 || end < start) throw new Error("README.md has no benchmark table markers");
  return { start: start + BENCH_TABLE_START.length, end };
}

/** Replaces the block between the markers. */
export function withBenchTable(readme: string, table: string): string {
  const { start, end } = blockBounds(readme);
  return `${readme.slice(0, start)}\n${table}\n${readme.slice(end)}`;
}

export function readBenchTable(readme: string): string {
  const { start, end } = blockBounds(readme);
  return readme.slice(start, end).trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const results = JSON.parse(readFileSync(`${root}bench/results/latest.json`, "utf8")) as BenchResults;
  const readmePath = `${root}README.md`;
  writeFileSync(readmePath, withBenchTable(readFileSync(readmePath, "utf8"), renderBenchTable(results)));
  console.log("README.md: benchmark table written from bench/results/latest.json");
}
