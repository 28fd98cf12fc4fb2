import { RetryableError } from "../errors.ts";
import { toNumber } from "../media/frame-rate.ts";
import type { ChunkPlan, PlannedChunk } from "../media/chunk-plan.ts";

/**
 * What a part's ffmpeg must have written for one rendition. ffmpeg can exit 0 after a write
 * failed ("No space left on device" mid-segment): a part is marked done only once what is on disk
 * is what was planned.
 */
export interface ExpectedSegments {
  /** Each segment's planned length, in order (video: from the chunk plan). */
  durations?: readonly number[];
  /** The rendition's planned total length (audio). */
  totalSeconds?: number;
  /** How far a length may be off (a frame's rounding). */
  toleranceSeconds: number;
}

/** A segment ffmpeg listed, with the size of its file (0 or missing: absent). */
export interface WrittenSegment {
  uri: string;
  duration: number;
  bytes: number | undefined;
}

/** The segments a chunk's renditions must hold: one per planned segment start, each as long as planned. */
export function expectedChunkSegments(chunk: Pick<PlannedChunk, "keyframeOffsets" | "frameCount">, frameRate: ChunkPlan["frameRate"]): ExpectedSegments {
  const fps = toNumber(frameRate);
  const offsets = chunk.keyframeOffsets;
  const durations = offsets.map((offset, i) => ((offsets[i + 1] ?? chunk.frameCount) - offset) / fps);
  return { durations, toleranceSeconds: 0.5 / fps + 0.001 };
}

/** Throws a RetryableError naming what is missing or off, so the part is done again. */
export function assertSegmentsAsPlanned(rendition: string, written: readonly WrittenSegment[], expected: ExpectedSegments): void {
  const problems: string[] = [];
  const absent = written.filter((segment) => !segment.bytes).map((segment) => segment.uri);
  if (absent.length) problems.push(`missing or empty: ${absent.join(", ")}`);
  if (written.length === 0) problems.push("no segment at all");
  const { durations, totalSeconds, toleranceSeconds } = expected;
  if (durations) {
    if (written.length !== durations.length) problems.push(`${written.length} segments instead of ${durations.length}`);
    durations.forEach((planned, i) => {
      const segment = written[i];
      if (segment && Math.abs(segment.duration - planned) > toleranceSeconds) {
        problems.push(`${segment.uri} lasts ${segment.duration.toFixed(3)} s instead of ${planned.toFixed(3)} s`);
      }
    });
  }
  if (totalSeconds !== undefined) {
    const total = written.reduce((sum, segment) => sum + segment.duration, 0);
    if (Math.abs(total - totalSeconds) > toleranceSeconds) problems.push(`${total.toFixed(3)} s in all instead of ${totalSeconds.toFixed(3)} s`);
  }
  if (problems.length) {
    throw new RetryableError(`ffmpeg's ${rendition} output is not what was planned: ${problems.join("; ")}`, {
      reason: "the encoder's output was incomplete (a full disk?)",
    });
  }
}
