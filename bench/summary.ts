import { round } from "./measure.ts";
import { pipelineOutcome, type Measured, type Round, type Variant } from "./rounds.ts";

/** Every round's figures folded into one: means of times, ratios of sums, maxima of memory. */
export function summarise(rounds: readonly Round[]) {
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
  const jobs = rounds.map((r) => r.pipeline.job).filter((j): j is NonNullable<typeof j> => j !== undefined);
  const meanJob = (pick: (j: (typeof jobs)[number]) => number | null | undefined) => {
    const values = jobs.map(pick).filter((v): v is number => typeof v === "number");
    return values.length ? round(values.reduce((a, b) => a + b, 0) / values.length, 2) : null;
  };
  const overheadShare = round(sumOf((r) => r.encodes.pipelineOverheadSeconds) / total("pipeline", wall));
  return {
    rounds: rounds.length,
    wallSeconds: { single: round(mean("single", wall), 1), pipeline: round(mean("pipeline", wall), 1) },
    wallRatio: round(total("pipeline", wall) / total("single", wall)),
    wallRatioPerRound: ratios,
    wallRatioSpread: round(Math.max(...ratios) - Math.min(...ratios)),
    timeToReadySeconds: round(rounds.reduce((sum, r) => sum + pipelineOutcome(r.pipeline).endSeconds, 0) / rounds.length, 1),
    timeToPlayableSeconds: meanJob((j) => j.timeToPlayableSeconds),
    readySeconds: meanJob((j) => j.readySeconds),
    viewerStalls: jobs.length ? Math.max(...jobs.map((j) => j.viewer?.stalls ?? 0)) : null,
    viewerStalledSeconds: meanJob((j) => j.viewer?.stalledSeconds),
    lastChunkAloneSeconds: meanJob((j) => j.lastChunkAloneSeconds),
    psnrDeltaDb: psnrDelta(rounds),
    overheadShare,
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

export type Summary = ReturnType<typeof summarise>;

type Quality = Record<string, { psnr: number; ssim: number } | null> | null;

/**
 * Per rung, the pipeline's luma PSNR minus the single command's, both as libx264 measured them
 * against the source scaled to the rung (every frame, so the chunk joins count), mean over rounds;
 * and the SSIM of each side for reference.
 */
export function psnrDelta(rounds: readonly Round[]) {
  const perRung: Record<string, { pipelinePsnr: number; singlePsnr: number; deltaDb: number; pipelineSsim: number; singleSsim: number }> = {};
  const names = new Set<string>();
  const qualityOf = (m: Measured) => (m as unknown as { quality?: Quality }).quality ?? null;
  for (const r of rounds) for (const name of Object.keys(qualityOf(r.single) ?? {})) names.add(name);
  for (const name of names) {
    const pairs = rounds.flatMap((r) => {
      const a = qualityOf(r.pipeline)?.[name];
      const b = qualityOf(r.single)?.[name];
      return a && b ? [[a, b] as const] : [];
    });
    if (!pairs.length) continue;
    const avg = (pick: (pair: (typeof pairs)[number]) => number) => pairs.reduce((sum, pair) => sum + pick(pair), 0) / pairs.length;
    perRung[name] = {
      pipelinePsnr: round(avg(([a]) => a.psnr)),
      singlePsnr: round(avg(([, b]) => b.psnr)),
      deltaDb: round(avg(([a, b]) => a.psnr - b.psnr)),
      pipelineSsim: round(avg(([a]) => a.ssim), 5),
      singleSsim: round(avg(([, b]) => b.ssim), 5),
    };
  }
  return perRung;
}

const fmt = (value: number | null | undefined) => (typeof value === "number" ? value.toFixed(1) : "-");

export function printTable(summary: Summary, ready: boolean) {
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
    ["time to playable, from upload (s)", "-", fmt(summary.timeToPlayableSeconds), ""],
    ["time to ready, from upload (s)", "-", fmt(summary.readySeconds), ""],
    ["viewer from playable at 1x: stalls", "-", `${summary.viewerStalls ?? "-"} (${fmt(summary.viewerStalledSeconds)} s)`, ""],
    ["CPU (s)", summary.cpuSeconds.single.toFixed(1), summary.cpuSeconds.pipeline.toFixed(1), summary.cpuRatio.toFixed(3)],
    ["  of which the encodes (s)", summary.encodes.cpuSeconds.single.toFixed(1), summary.encodes.cpuSeconds.pipeline.toFixed(1), summary.encodes.cpuRatio.toFixed(3)],
    [
      "wall if only the encodes ran (s)",
      "-",
      summary.encodes.pipelineWallIfOnlyEncodesSeconds.toFixed(1),
      summary.encodes.wallRatioIfNoOverhead.toFixed(3),
    ],
    ["pipeline's own overhead (s)", "-", summary.encodes.pipelineOverheadSeconds.toFixed(1), `${(summary.overheadShare * 100).toFixed(1)}% of wall`],
    ...Object.entries(summary.psnrDeltaDb).map(([name, q]): [string, string, string, string] => [`PSNR ${name} (dB)`, q.singlePsnr.toFixed(2), q.pipelinePsnr.toFixed(2), `${q.deltaDb >= 0 ? "+" : ""}${q.deltaDb.toFixed(2)}`]),
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

