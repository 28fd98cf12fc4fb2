import { partNames } from "../keys.ts";

/**
 * One video's progress as a person sees it: 0-100 that moves smoothly (from each running part's
 * own fraction, not in jumps per finished part), the stage running now, and the time left.
 * Pure: the API's video object and `vodpipe process`'s terminal bar both compute it from the same
 * inputs (the job's plan, the part markers and the parts' progress records).
 */
export type VideoStatus = "uploading" | "queued" | "processing" | "ready" | "failed";
export type ProgressStage = "uploading" | "queued" | "ingesting" | "splitting" | "encoding" | "publishing";

export interface ProgressPlan {
  chunks: { chunks: ReadonlyArray<{ index: number; frameCount: number }> };
  hasAudio: boolean;
  leadRung?: string | null;
  parts: readonly string[];
}

export interface ProgressInput {
  status: VideoStatus;
  /** Absent until ingest has planned the job. */
  plan?: ProgressPlan;
  /** Parts whose marker exists (finished). */
  finishedParts: readonly string[];
  /** Running parts' latest fraction, 0-1, from their progress records. */
  partFractions: Readonly<Record<string, number>>;
  /** When processing began (the job record's creation), ms since the epoch. */
  startedAtMs?: number;
  nowMs: number;
}

export interface OverallProgress {
  /** 0-100 with one decimal; 100 only when ready. */
  percent: number;
  /** Whole seconds left, or null when there is nothing to estimate from yet (or nothing left to do). */
  etaSeconds: number | null;
  stage: ProgressStage | null;
}

/** Shares of the whole, in percent. Encoding is nearly all of the work; the rest is quick. */
export const STAGE_SHARES = { ingest: 4, split: 4, parts: 87, publish: 5 } as const;

/** Audio and thumbnails cost about this much per video frame, relative to a frame transcoded to the ladder. */
const AUDIO_COST_PER_FRAME = 0.06;
const THUMBNAILS_COST_PER_FRAME = 0.1;
/** The lowest rung alone, from a decode of the source: about a quarter of a chunk's frame with every rung. */
const LEAD_RUNG_COST_PER_FRAME = 0.25;
/** Below this, an estimate of the time left would be mostly noise. */
const MIN_PERCENT_FOR_ETA = 10;

/** Each part's weight in the encoding stage: chunks by their frame count, audio and thumbnails by the video's. */
export function partWeights(plan: ProgressPlan): Record<string, number> {
  const totalFrames = plan.chunks.chunks.reduce((sum, chunk) => sum + chunk.frameCount, 0);
  const weights: Record<string, number> = {};
  for (const chunk of plan.chunks.chunks) weights[partNames.chunk(chunk.index)] = chunk.frameCount;
  if (plan.hasAudio) weights[partNames.audio] = totalFrames * AUDIO_COST_PER_FRAME;
  weights[partNames.thumbnails] = totalFrames * THUMBNAILS_COST_PER_FRAME;
  if (plan.leadRung) weights[partNames.rung(plan.leadRung)] = totalFrames * LEAD_RUNG_COST_PER_FRAME;
  // A part the plan names but this table does not know still counts (equal to an average chunk).
  const average = totalFrames / Math.max(1, plan.chunks.chunks.length);
  for (const part of plan.parts) weights[part] ??= average;
  return weights;
}

export function overallProgress(input: ProgressInput): OverallProgress {
  const { status, plan } = input;
  if (status === "ready") return { percent: 100, etaSeconds: 0, stage: null };
  if (status === "uploading" || status === "queued") return { percent: 0, etaSeconds: null, stage: status };
  if (!plan) return { percent: 0, etaSeconds: null, stage: status === "failed" ? null : "ingesting" };

  const weights = partWeights(plan);
  const finished = new Set(input.finishedParts);
  let total = 0;
  let done = 0;
  let started = false;
  for (const part of plan.parts) {
    const weight = weights[part] ?? 0;
    total += weight;
    if (finished.has(part)) {
      done += weight;
      started = true;
    } else if (input.partFractions[part] !== undefined) {
      done += weight * clamp01(input.partFractions[part]);
      started = true;
    }
  }
  const allFinished = plan.parts.every((part) => finished.has(part));
  const encoded = total > 0 ? done / total : 0;
  const raw = STAGE_SHARES.ingest + (started ? STAGE_SHARES.split : 0) + STAGE_SHARES.parts * encoded;
  const percent = Math.min(99.9, Math.round(raw * 10) / 10);
  const stage: ProgressStage | null = status === "failed" ? null : allFinished ? "publishing" : started ? "encoding" : "splitting";
  return { percent, etaSeconds: status === "failed" ? null : estimateSecondsLeft(percent, input.startedAtMs, input.nowMs), stage };
}

/** Time left at the pace so far: elapsed × (100 − p) / p, once there is enough progress to judge. */
export function estimateSecondsLeft(percent: number, startedAtMs: number | undefined, nowMs: number): number | null {
  if (startedAtMs === undefined || percent < MIN_PERCENT_FOR_ETA) return null;
  const elapsedSeconds = (nowMs - startedAtMs) / 1000;
  if (elapsedSeconds <= 0) return null;
  return Math.max(1, Math.round((elapsedSeconds * (100 - percent)) / percent));
}

function clamp01(value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}
