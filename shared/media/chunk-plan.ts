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

/** How long the planned video lasts: every output frame at the planned rate. */
export function plannedDurationSeconds(plan: Pick<ChunkPlan, "totalFrames" | "frameRate">): number {
  return plan.totalFrames / toNumber(plan.frameRate);
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
  // Segments of equal length (to a frame), never a sliver at the end, and for a video shared
  // between workers a count that is a multiple of the parallelism, so the chunks can be shared
  // out evenly: 60 s at 4 s is 14 segments of 4.29 s, not 15, and both workers finish together.
  // Allowed lengths: 0.75x-1.5x.
  const counts = input.parallelism > 1 ? evenCounts(totalFrames, nominalFrames, input.parallelism) : [];
  // A video longer than a chunk is spread over every worker, and so is a shorter one that has a
  // segment for each: single-threaded chunks side by side finish sooner than one chunk encoded
  // with every thread (bench/README.md).
  const longerThanOneChunk = totalFrames / fps > input.chunkSeconds + 1e-9;
  const evenlyShared = input.parallelism > 1 && (longerThanOneChunk || counts.length > 0);
  const layout = (segmentCount: number) => layOutChunks(input, fps, totalFrames, segmentCount, evenlyShared);

  let segmentCount = Math.max(1, Math.round(totalFrames / nominalFrames));
  if (evenlyShared) segmentCount = preferredCount(segmentCount, counts, input.parallelism);
  let plan = layout(Math.min(segmentCount, totalFrames));
  if (evenlyShared && !plan.aligned) {
    // Each chunk decodes its source from the keyframe before its start and throws those frames
    // away; a length that puts every chunk start on a source keyframe wastes nothing. Like the
    // choice above: the closest length at or above the configured one, else below.
    const distance = (count: number) => {
      const frames = totalFrames / count;
      return frames >= nominalFrames ? frames - nominalFrames : 2 * nominalFrames + (nominalFrames - frames);
    };
    for (const count of [...counts].sort((a, b) => distance(a) - distance(b))) {
      const candidate = layout(count);
      if (!candidate.aligned) continue;
      plan = candidate;
      break;
    }
  }
  return { frameRate: input.frameRate, totalFrames, segmentStarts: plan.segmentStarts, chunks: plan.chunks };
}

/** Segment counts that are multiples of the parallelism with lengths within 0.75x-1.5x of nominal. */
function evenCounts(totalFrames: number, nominalFrames: number, parallelism: number): number[] {
  const counts: number[] = [];
  for (let count = parallelism; count <= totalFrames && totalFrames / count >= 0.75 * nominalFrames; count += parallelism) {
    if (totalFrames / count <= 1.5 * nominalFrames) counts.push(count);
  }
  return counts;
}

/** Fewer, longer segments if allowed; else more, shorter ones; else the count stays as it is. */
function preferredCount(count: number, allowed: readonly number[], parallelism: number): number {
  if (count % parallelism === 0) return count;
  const fewer = count - (count % parallelism);
  if (allowed.includes(fewer)) return fewer;
  if (allowed.includes(fewer + parallelism)) return fewer + parallelism;
  return count;
}

function layOutChunks(
  input: ChunkPlanInput,
  fps: number,
  totalFrames: number,
  segmentCount: number,
  evenlyShared: boolean,
): { segmentStarts: number[]; chunks: PlannedChunk[]; aligned: boolean } {
  const segmentStarts = Array.from({ length: segmentCount }, (_, i) => Math.round((i * totalFrames) / segmentCount));
  const segmentSeconds = totalFrames / fps / segmentCount;

  let chunkCount = Math.max(1, Math.round((segmentCount * segmentSeconds) / input.chunkSeconds));
  if (evenlyShared) chunkCount = Math.ceil(chunkCount / input.parallelism) * input.parallelism;
  chunkCount = Math.min(chunkCount, segmentCount);

  // Spread segments evenly; earlier chunks take the remainder so the longest work starts first.
  const base = Math.floor(segmentCount / chunkCount);
  const extra = segmentCount % chunkCount;
  const chunks: PlannedChunk[] = [];
  let aligned = true;
  let segment = 0;
  for (let index = 0; index < chunkCount; index += 1) {
    const count = base + (index < extra ? 1 : 0);
    const startFrame = segmentStarts[segment]!;
    const endFrame = segment + count < segmentCount ? segmentStarts[segment + count]! : totalFrames;
    const startTime = startFrame / fps;
    const sourceTime = input.videoStartTime + startTime;
    const sourceKeyframeTime = lastKeyframeAtOrBefore(input.keyframeTimes, sourceTime + 1e-3);
    if (sourceTime - sourceKeyframeTime > 0.5 / fps) aligned = false;
    chunks.push({
      index,
      startFrame,
      frameCount: endFrame - startFrame,
      firstSegment: segment,
      keyframeOffsets: segmentStarts.slice(segment, segment + count).map((frame) => frame - startFrame),
      startTime,
      endTime: endFrame / fps,
      sourceKeyframeTime,
    });
    segment += count;
  }
  return { segmentStarts, chunks, aligned };
}

/** Keyframe times are ascending: binary search, since a long video's plan tries many layouts. */
function lastKeyframeAtOrBefore(keyframes: readonly number[], time: number): number {
  let low = 0;
  let high = keyframes.length - 1;
  let found = keyframes[0] ?? 0;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (keyframes[middle]! <= time) {
      found = keyframes[middle]!;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
