import { describe, expect, it } from "vitest";
import { planChunks, type ChunkPlan, type ChunkPlanInput } from "../../shared/media/chunk-plan.ts";

const BASE: ChunkPlanInput = {
  durationSeconds: 20,
  frameRate: { num: 30, den: 1 },
  segmentSeconds: 4,
  chunkSeconds: 12,
  parallelism: 2,
  keyframeTimes: [0],
  videoStartTime: 0,
};

function plan(overrides: Partial<ChunkPlanInput>): ChunkPlan {
  return planChunks({ ...BASE, ...overrides });
}

/** [firstSegment, startFrame, frameCount] per chunk. */
function shape(result: ChunkPlan): Array<[number, number, number]> {
  return result.chunks.map((c) => [c.firstSegment, c.startFrame, c.frameCount]);
}

describe("planChunks", () => {
  it("plans a 20 s, 30 fps video as two chunks of whole segments, an even segment count for two workers", () => {
    // 5 segments of 4 s would leave one worker a segment behind: 4 segments of 5 s instead.
    expect(plan({ keyframeTimes: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18] })).toEqual({
      frameRate: { num: 30, den: 1 },
      totalFrames: 600,
      segmentStarts: [0, 150, 300, 450],
      chunks: [
        {
          index: 0, startFrame: 0, frameCount: 300, firstSegment: 0, keyframeOffsets: [0, 150],
          startTime: 0, endTime: 10, sourceKeyframeTime: 0,
        },
        {
          index: 1, startFrame: 300, frameCount: 300, firstSegment: 2, keyframeOffsets: [0, 150],
          startTime: 10, endTime: 20, sourceKeyframeTime: 10,
        },
      ],
    });
  });

  it("puts every segment boundary on one frame grid from the start, the same in every rendition's chunk", () => {
    // 95.5 s at 29.97 fps: 2862 frames in 24 segments of 119 or 120 frames, 8 chunks of 3.
    const result = plan({ durationSeconds: 95.5, frameRate: { num: 30000, den: 1001 } });
    expect(result.totalFrames).toBe(2862);
    expect(result.segmentStarts.slice(0, 9)).toEqual([0, 119, 239, 358, 477, 596, 716, 835, 954]);
    expect(result.segmentStarts).toHaveLength(24);
    const lengths = result.segmentStarts.map((start, i) => (result.segmentStarts[i + 1] ?? result.totalFrames) - start);
    expect(Math.min(...lengths)).toBe(119);
    expect(Math.max(...lengths)).toBe(120);
    expect(shape(result)).toEqual([
      [0, 0, 358], [3, 358, 358], [6, 716, 357], [9, 1073, 358],
      [12, 1431, 358], [15, 1789, 358], [18, 2147, 357], [21, 2504, 358],
    ]);
    for (const chunk of result.chunks) {
      const absolute = chunk.keyframeOffsets.map((offset) => chunk.startFrame + offset);
      expect(absolute, `chunk ${chunk.index}`).toEqual(result.segmentStarts.slice(chunk.firstSegment, chunk.firstSegment + chunk.keyframeOffsets.length));
    }
    let next = 0;
    for (const chunk of result.chunks) {
      expect(chunk.startFrame).toBe(next);
      next += chunk.frameCount;
    }
    expect(next).toBe(2862);
  });

  it("never leaves a short final segment: the duration is shared out evenly", () => {
    // 12.2 s at 30 fps: 366 frames as 3 segments of 122, not 120 + 120 + 120 + a 6-frame sliver.
    const short = plan({ durationSeconds: 12.2, parallelism: 1 });
    expect(short.segmentStarts).toEqual([0, 122, 244]);
    expect(shape(short)).toEqual([[0, 0, 366]]);
    expect(short.chunks[0]!.keyframeOffsets).toEqual([0, 122, 244]);
    expect(short.chunks[0]!.endTime).toBe(12.2);
  });

  it("rounds the segment count to a multiple of the parallelism within 0.75x-1.5x of the segment length", () => {
    // 60 s: 15 segments of 4 s would be 14 of 4.29 s; 12.5 s: 3 would be 2 of 6.25 s (too long), so 4 of 3.1 s.
    expect(plan({ durationSeconds: 60 }).segmentStarts).toHaveLength(14);
    expect(plan({ durationSeconds: 12.5 }).segmentStarts).toEqual([0, 94, 188, 281]);
    // 8 s for 4 workers: 2 segments; 4 would be 2 s long (under 0.75x), so it stays 2.
    expect(plan({ durationSeconds: 8, chunkSeconds: 4, parallelism: 4 }).segmentStarts).toEqual([0, 120]);
    // 12 s for two workers: 3 segments would be 2 of 6 s (fewer, longer ones first).
    expect(plan({ durationSeconds: 12 }).segmentStarts).toEqual([0, 180]);
    // With one worker the configured length stands.
    expect(plan({ durationSeconds: 12, parallelism: 1 }).segmentStarts).toEqual([0, 120, 240]);
  });

  it("picks the segment length, among the allowed even counts, that puts every chunk start on a source keyframe", () => {
    // 60 s at 50 fps, a keyframe every 2 s: 14 segments of 4.29 s would start chunks at 12.86 s,
    // 25.71 s… (up to 1.7 s decoded and thrown away each); 12 segments of 5 s start them at 10, 20…
    const keyframeTimes = Array.from({ length: 30 }, (_, i) => i * 2);
    const result = plan({ durationSeconds: 60, frameRate: { num: 50, den: 1 }, keyframeTimes });
    expect(result.segmentStarts).toHaveLength(12);
    expect(result.chunks.map((c) => [c.startTime, c.sourceKeyframeTime])).toEqual([[0, 0], [10, 10], [20, 20], [30, 30], [40, 40], [50, 50]]);
    // With a keyframe only at the start no length helps: the usual choice stands.
    expect(plan({ durationSeconds: 60, frameRate: { num: 50, den: 1 }, keyframeTimes: [0] }).segmentStarts).toHaveLength(14);
    // Keyframes every 3 s: 6 s segments (10) are allowed and align; 4.29 s (14) do not.
    const every3 = plan({ durationSeconds: 60, frameRate: { num: 50, den: 1 }, keyframeTimes: Array.from({ length: 20 }, (_, i) => i * 3) });
    expect(every3.segmentStarts).toHaveLength(10);
    expect(every3.chunks.every((c) => c.sourceKeyframeTime === c.startTime)).toBe(true);
  });

  it("plans a 4-hour video whose keyframes never line up (every 2 s, offset by 0.02 s)", () => {
    const keyframeTimes = Array.from({ length: 7200 }, (_, i) => i * 2 + 0.02);
    const result = plan({ durationSeconds: 14_400, frameRate: { num: 30, den: 1 }, keyframeTimes });
    expect(result.segmentStarts).toHaveLength(3600);
    expect(result.chunks).toHaveLength(1200);
  });

  it("keeps a video shorter than 0.5 s as one segment", () => {
    const result = plan({ durationSeconds: 0.3 });
    expect(result.segmentStarts).toEqual([0]);
    expect(shape(result)).toEqual([[0, 0, 9]]);
  });

  it("gives a one-frame video one chunk of one frame", () => {
    // underrun-ntsc.dv: one frame at 29.97 fps lasts 1001/30000 s.
    expect(plan({ durationSeconds: 1001 / 30000, frameRate: { num: 30000, den: 1001 } })).toEqual({
      frameRate: { num: 30000, den: 1001 },
      totalFrames: 1,
      segmentStarts: [0],
      chunks: [
        {
          index: 0, startFrame: 0, frameCount: 1, firstSegment: 0, keyframeOffsets: [0],
          startTime: 0, endTime: 1001 / 30000, sourceKeyframeTime: 0,
        },
      ],
    });
    expect(shape(plan({ durationSeconds: 0 }))).toEqual([[0, 0, 1]]);
  });

  it("rounds the chunk count up to a multiple of the parallelism; earlier chunks take the extra segments", () => {
    // 40 s: 10 segments, about 12 s a chunk = 3 chunks.
    expect(shape(plan({ durationSeconds: 40, parallelism: 2 }))).toEqual([[0, 0, 360], [3, 360, 360], [6, 720, 240], [8, 960, 240]]);
    // Three workers: 9 segments of 4.4 s, three chunks of three.
    expect(shape(plan({ durationSeconds: 40, parallelism: 3 }))).toEqual([[0, 0, 400], [3, 400, 400], [6, 800, 400]]);
    expect(shape(plan({ durationSeconds: 40, parallelism: 1 }))).toEqual([[0, 0, 480], [4, 480, 360], [7, 840, 360]]);
    // 60 s, two workers: chunks of 3,3,2,2,2,2 segments, so each worker gets 7.
    expect(shape(plan({ durationSeconds: 60 })).map(([, , frames]) => frames)).toEqual([386, 385, 258, 257, 257, 257]);
  });

  it("never plans more chunks than segments", () => {
    expect(shape(plan({ durationSeconds: 8, chunkSeconds: 4, parallelism: 4 }))).toEqual([[0, 0, 120], [1, 120, 120]]);
  });

  it("spreads a video over every worker once each can have a segment, even one shorter than a chunk", () => {
    expect(shape(plan({ durationSeconds: 16, parallelism: 2 }))).toEqual([[0, 0, 240], [2, 240, 240]]);
    expect(shape(plan({ durationSeconds: 12, parallelism: 2 }))).toEqual([[0, 0, 180], [1, 180, 180]]);
    // 6 s: two segments of 3 s (0.75x), one per worker.
    expect(shape(plan({ durationSeconds: 6, parallelism: 2 }))).toEqual([[0, 0, 90], [1, 90, 90]]);
    // 5.9 s: two segments would be shorter than 0.75x, so one worker encodes it whole.
    expect(shape(plan({ durationSeconds: 5.9, parallelism: 2 }))).toEqual([[0, 0, 177]]);
    expect(shape(plan({ durationSeconds: 12, parallelism: 1 }))).toEqual([[0, 0, 360]]);
    // 18 s for 8 workers: no even count fits, but longer than a chunk, so one chunk per segment.
    expect(shape(plan({ durationSeconds: 18, parallelism: 8 }))).toHaveLength(5);
  });

  it("starts each chunk's copy at the last source keyframe at or before its start, on the file's timeline", () => {
    // An MPEG-TS source whose video starts at 1.525 s, keyframes every 5 s; 24 s at 24 fps.
    const result = plan({
      durationSeconds: 24,
      frameRate: { num: 24, den: 1 },
      videoStartTime: 1.525,
      keyframeTimes: [1.525, 6.525, 11.525, 16.525, 21.525],
    });
    expect(result.chunks.map((c) => [c.startTime, c.sourceKeyframeTime])).toEqual([[0, 1.525], [12, 11.525]]);
  });

  it("takes a keyframe exactly at the chunk start (29.97 fps float times), not the one before", () => {
    const result = plan({
      durationSeconds: 24.024,
      frameRate: { num: 30000, den: 1001 },
      keyframeTimes: [0, 4.004, 8.008, 12.012, 16.016, 20.02],
    });
    expect(result.chunks.map((c) => [c.startFrame, c.sourceKeyframeTime])).toEqual([[0, 0], [360, 12.012]]);
  });

  it("uses an intra-only source's keyframe at the chunk start", () => {
    // MJPEG-like: every frame (25 fps) is a keyframe.
    const keyframeTimes = Array.from({ length: 1000 }, (_, i) => i / 25);
    const result = plan({ durationSeconds: 40, frameRate: { num: 25, den: 1 }, keyframeTimes });
    expect(result.chunks.map((c) => c.sourceKeyframeTime)).toEqual([0, 12, 24, 32]);
  });
});
