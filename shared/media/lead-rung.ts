import type { ChunkPlan } from "./chunk-plan.ts";
import type { Rendition } from "./ladder.ts";
import type { SourceInfo } from "./source-info.ts";

/**
 * The lead rung: the lowest rendition, encoded for the whole video by one ffmpeg that reads the
 * source (not the chunks) and uploads each segment as it is written. The lowest rung encodes many
 * times faster than real time on one core, so a viewer who starts at its first segment never
 * catches up with it, while the chunks make the other rungs beside it. Its output *is* the
 * final rung (the chunks leave it out), so the only extra work is one more decode of the source.
 */

/**
 * Containers ffmpeg reads front to back with exact timestamps, so one pass over the source makes
 * the same frames as the chunks cut from it. Others (AVI, MPEG program streams, raw streams,
 * FLV) keep the chunks' own path, which copes with their missing or rough timestamps.
 */
const WHOLE_READ_FORMATS = new Set(["mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"]);

export interface LeadRungChoice {
  source: Pick<SourceInfo, "formatName" | "durationSeconds"> & { video: Pick<SourceInfo["video"], "timestamped"> };
  /** Highest first, as the ladder plans them. */
  renditions: readonly Rendition[];
  chunks: Pick<ChunkPlan, "chunks">;
  /** VODPIPE_LEAD_RUNG_MAX_SECONDS: longer videos (and 0) get every rung from the chunks. */
  maxSeconds: number;
}

/**
 * The rendition to encode whole and first, or null. Only where it helps and is safe: a ladder of
 * two rungs or more cut into two chunks or more (with one chunk, that chunk is the whole video
 * anyway), from a container read exactly, no longer than the limit (one process encodes the
 * whole video, and it must end well within a worker's or a Lambda function's time).
 */
export function chooseLeadRung({ source, renditions, chunks, maxSeconds }: LeadRungChoice): string | null {
  const lowest = renditions[renditions.length - 1];
  if (!lowest || renditions.length < 2 || chunks.chunks.length < 2) return null;
  if (maxSeconds <= 0 || source.durationSeconds > maxSeconds) return null;
  if (!source.video.timestamped) return null;
  const formats = source.formatName.split(",");
  if (!formats.some((format) => WHOLE_READ_FORMATS.has(format))) return null;
  return lowest.name;
}

/** The renditions a chunk's transcode makes: every rung but the lead rung. */
export function chunkRenditions(plan: { renditions: readonly Rendition[]; leadRung?: string | null }): Rendition[] {
  return plan.renditions.filter((rendition) => rendition.name !== plan.leadRung);
}
