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
  it("plans a 20 s, 30 fps video as two chunks of whole 4 s segments", () => {
    expect(plan({ keyframeTimes: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18] })).toEqual({
      frameRate: { num: 30, den: 1 },
      totalFrames: 600,
      segmentFrames: 120,
      segmentStarts: [0, 120, 240, 360, 480],
      chunks: [
        {
          index: 0, startFrame: 0, frameCount: 360, firstSegment: 0, keyframeOffsets: [0, 120, 240],
          startTime: 0, endTime: 12, sourceKeyframeTime: 0,
        },
        {
          index: 1, startFrame: 360, frameCount: 240, firstSegment: 3, keyframeOffsets: [0, 120],
          startTime: 12, endTime: 20, sourceKeyframeTime: 12,
        },
      ],
    });
  });

  it("puts every segment boundary on one frame grid from the start, the same in every chunk", () => {
    // 95.5 s at 29.97 fps: 2862 frames, 4 s = 120 frames, 24 segments, 8 chunks of 3.
    const result = plan({ durationSeconds: 95.5, frameRate: { num: 30000, den: 1001 } });
    expect(result.totalFrames).toBe(2862);
    expect(result.segmentFrames).toBe(120);
    expect(result.segmentStarts).toEqual(Array.from({ length: 24 }, (_, i) => i * 120));
    expect(shape(result)).toEqual([
      [0, 0, 360], [3, 360, 360], [6, 720, 360], [9, 1080, 360],
      [12, 1440, 360], [15, 1800, 360], [18, 2160, 360], [21, 2520, 342],
    ]);
    for (const chunk of result.chunks) {
      expect(chunk.keyframeOffsets, `chunk ${chunk.index}`).toEqual([0, 120, 240]);
      const absolute = chunk.keyframeOffsets.map((offset) => chunk.startFrame + offset);
      expect(absolute).toEqual(result.segmentStarts.slice(chunk.firstSegment, chunk.firstSegment + chunk.keyframeOffsets.length));
    }
    // Chunks are contiguous and cover every frame once.
    let next = 0;
    for (const chunk of result.chunks) {
      expect(chunk.startFrame).toBe(next);
      next += chunk.frameCount;
    }
    expect(next).toBe(2862);
    expect(result.chunks[3]!.startTime).toBeCloseTo(36.036, 9);
    expect(result.chunks[7]!.endTime).toBeCloseTo(95.4954, 9);
  });

  it("merges a final segment shorter than 0.5 s into the one before it", () => {
    // 12.2 s: 366 frames; the 6-frame (0.2 s) tail joins the third segment (126 frames).
    const short = plan({ durationSeconds: 12.2, parallelism: 1 });
    expect(short.segmentStarts).toEqual([0, 120, 240]);
    expect(shape(short)).toEqual([[0, 0, 366]]);
    expect(short.chunks[0]!.keyframeOffsets).toEqual([0, 120, 240]);
    expect(short.chunks[0]!.endTime).toBe(12.2);
  });

  it("keeps a final segment of exactly 0.5 s", () => {
    const result = plan({ durationSeconds: 12.5 });
    expect(result.totalFrames).toBe(375);
    expect(result.segmentStarts).toEqual([0, 120, 240, 360]);
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
      segmentFrames: 120,
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
    expect(shape(plan({ durationSeconds: 40, parallelism: 3 }))).toEqual([[0, 0, 480], [4, 480, 360], [7, 840, 360]]);
    expect(shape(plan({ durationSeconds: 40, parallelism: 1 }))).toEqual([[0, 0, 480], [4, 480, 360], [7, 840, 360]]);
  });

  it("never plans more chunks than segments", () => {
    expect(shape(plan({ durationSeconds: 8, chunkSeconds: 4, parallelism: 4 }))).toEqual([[0, 0, 120], [1, 120, 120]]);
  });

  it("keeps a video of one chunk's length in one chunk, and spreads a longer one over every worker", () => {
    expect(shape(plan({ durationSeconds: 12, parallelism: 2 }))).toEqual([[0, 0, 360]]);
    expect(shape(plan({ durationSeconds: 16, parallelism: 2 }))).toEqual([[0, 0, 240], [2, 240, 240]]);
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
