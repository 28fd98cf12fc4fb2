import { toNumber, type Rational } from "./frame-rate.ts";

/**
 * Where segments and chunks fall, counted in output frames from the start of the video.
 * Segment boundaries form one grid shared by every rendition; a chunk is a run of whole segments,
 * so a chunk's first frame is always a keyframe on that grid and no segment straddles two chunks.
 */
export interface ChunkPlan {
  frameRate: Rational;
  totalFrames: number;
  /** Start frame of every segment, ascending; the first is 0. Segments differ by one frame at most. */
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

export function planChunks(input: ChunkPlanInput): ChunkPlan {
  const fps = toNumber(input.frameRate);
  const totalFrames = Math.max(1, Math.round(input.durationSeconds * fps));
  const nominalFrames = Math.max(1, Math.round(input.segmentSeconds * fps));
  const longerThanOneChunk = totalFrames / fps > input.chunkSeconds + 1e-9;

  // Segments of equal length (to a frame), never a sliver at the end. A video longer than one
  // chunk gets a segment count that is a multiple of the parallelism, so its chunks can be shared
  // out evenly: 60 s at 4 s is 14 segments of 4.29 s, not 15, and both workers finish together.
  let segmentCount = Math.max(1, Math.round(totalFrames / nominalFrames));
  if (input.parallelism > 1 && longerThanOneChunk && segmentCount % input.parallelism !== 0) {
    // Fewer, longer segments, unless they would grow past 1.5x the configured length; else more,
    // shorter ones, unless they would shrink below 0.75x; else the count stays as it is.
    const fewer = segmentCount - (segmentCount % input.parallelism);
    const more = fewer + input.parallelism;
    if (fewer > 0 && totalFrames / fewer <= 1.5 * nominalFrames) segmentCount = fewer;
    else if (totalFrames / more >= 0.75 * nominalFrames) segmentCount = more;
  }
  segmentCount = Math.min(segmentCount, totalFrames);
  const segmentStarts = Array.from({ length: segmentCount }, (_, i) => Math.round((i * totalFrames) / segmentCount));
  const segmentSeconds = totalFrames / fps / segmentCount;

  let chunkCount = Math.max(1, Math.round((segmentCount * segmentSeconds) / input.chunkSeconds));
  // A video longer than one chunk is spread over every worker, even if it is only a little longer.
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
  return { frameRate: input.frameRate, totalFrames, segmentStarts, chunks };
}

function lastKeyframeAtOrBefore(keyframes: readonly number[], time: number): number {
  let found = keyframes[0] ?? 0;
  for (const keyframe of keyframes) {
    if (keyframe <= time) found = keyframe;
    else break;
  }
  return found;
}
