import { toNumber, type Rational } from "./frame-rate.ts";

/**
 * Where segments and chunks fall, counted in output frames from the start of the video.
 * Segment boundaries form one grid shared by every rendition; a chunk is a run of whole segments,
 * so a chunk's first frame is always a keyframe on that grid and no segment straddles two chunks.
 */
export interface ChunkPlan {
  frameRate: Rational;
  totalFrames: number;
  segmentFrames: number;
  /** Start frame of every segment, ascending; the first is 0. */
  segmentStarts: number[];
  chunks: PlannedChunk[];
}

export interface PlannedChunk {
  index: number;
  startFrame: number;
  frameCount: number;
  /** Index of the chunk's first segment in the whole video (names its files). */
  firstSegment: number;
  /** Frame offsets, relative to the chunk start, where a new segment (and an IDR) begins. */
  keyframeOffsets: number[];
  /** Output time of the first frame. */
  startTime: number;
  endTime: number;
  /** The last source keyframe at or before startTime: where the stream-copied chunk file begins. */
  sourceKeyframeTime: number;
}

export interface ChunkPlanInput {
  durationSeconds: number;
  frameRate: Rational;
  segmentSeconds: number;
  chunkSeconds: number;
  /** How many chunks run at once; the chunk count is rounded up to a multiple of it when > 1. */
  parallelism: number;
  /** Source keyframe times on ffmpeg's input timeline (0 = the file's start, like videoStartTime). */
  keyframeTimes: readonly number[];
  /** The source video's first frame time; output frame n shows source time videoStart + n / fps. */
  videoStartTime: number;
}

/** A final segment shorter than this is merged into the one before it (slivers inflate peak bitrate). */
const MIN_TAIL_SECONDS = 0.5;

export function planChunks(input: ChunkPlanInput): ChunkPlan {
  const fps = toNumber(input.frameRate);
  const totalFrames = Math.max(1, Math.round(input.durationSeconds * fps));
  const segmentFrames = Math.max(1, Math.round(input.segmentSeconds * fps));

  const segmentStarts: number[] = [];
  for (let frame = 0; frame < totalFrames; frame += segmentFrames) segmentStarts.push(frame);
  const tailFrames = totalFrames - segmentStarts[segmentStarts.length - 1]!;
  if (segmentStarts.length > 1 && tailFrames / fps < MIN_TAIL_SECONDS) segmentStarts.pop();

  const segmentCount = segmentStarts.length;
  let chunkCount = Math.max(1, Math.round((segmentCount * input.segmentSeconds) / input.chunkSeconds));
  // A video longer than one chunk is spread over every worker, even if it is only a little longer.
  const longerThanOneChunk = totalFrames / fps > input.chunkSeconds + 1e-9;
  if (input.parallelism > 1 && (chunkCount > 1 || longerThanOneChunk)) {
    chunkCount = Math.ceil(chunkCount / input.parallelism) * input.parallelism;
  }
  chunkCount = Math.min(chunkCount, segmentCount);

  // Spread segments evenly; earlier chunks take the remainder so the longest work starts first.
  const base = Math.floor(segmentCount / chunkCount);
  const extra = segmentCount % chunkCount;
  const chunks: PlannedChunk[] = [];
  let segment = 0;
  for (let index = 0; index < chunkCount; index += 1) {
    const count = base + (index < extra ? 1 : 0);
    const startFrame = segmentStarts[segment]!;
    const endFrame = segment + count < segmentCount ? segmentStarts[segment + count]! : totalFrames;
    const startTime = startFrame / fps;
    const sourceTime = input.videoStartTime + startTime;
    chunks.push({
      index,
      startFrame,
      frameCount: endFrame - startFrame,
      firstSegment: segment,
      keyframeOffsets: segmentStarts.slice(segment, segment + count).map((frame) => frame - startFrame),
      startTime,
      endTime: endFrame / fps,
      sourceKeyframeTime: lastKeyframeAtOrBefore(input.keyframeTimes, sourceTime + 1e-3),
    });
    segment += count;
  }
  return { frameRate: input.frameRate, totalFrames, segmentFrames, segmentStarts, chunks };
}

function lastKeyframeAtOrBefore(keyframes: readonly number[], time: number): number {
  let found = keyframes[0] ?? 0;
  for (const keyframe of keyframes) {
    if (keyframe <= time) found = keyframe;
    else break;
  }
  return found;
}
