import { describe, expect, it } from "vitest";
import { RetryableError } from "../../shared/errors.ts";
import { assertSegmentsAsPlanned, expectedChunkSegments } from "../../shared/pipeline/verify-segments.ts";
import type { PlannedChunk } from "../../shared/media/chunk-plan.ts";

const chunk: PlannedChunk = {
  index: 1,
  startFrame: 100,
  frameCount: 100,
  firstSegment: 2,
  keyframeOffsets: [0, 50],
  startTime: 4,
  endTime: 8,
  sourceKeyframeTime: 4,
};
const frameRate = { num: 25, den: 1 };
const segment = (uri: string, duration: number, bytes: number | undefined = 1000) => ({ uri, duration, bytes });

describe("ffmpeg's output checked against the plan", () => {
  it("plans one segment per keyframe offset, each as long as its frames", () => {
    expect(expectedChunkSegments(chunk, frameRate)).toEqual({ durations: [2, 2], toleranceSeconds: 0.021 });
  });

  it("accepts the planned segments, within half a frame", () => {
    const expected = expectedChunkSegments(chunk, frameRate);
    expect(() => assertSegmentsAsPlanned("360p", [segment("seg-00002.ts", 2.0), segment("seg-00003.ts", 1.99)], expected)).not.toThrow();
  });

  it.each([
    ["a segment missing from the listing", [segment("seg-00002.ts", 2)], "1 segments instead of 2"],
    ["a listed file that is not there", [segment("seg-00002.ts", 2), { uri: "seg-00003.ts", duration: 2, bytes: undefined }], "missing or empty: seg-00003.ts"],
    ["an empty file", [segment("seg-00002.ts", 2, 0), segment("seg-00003.ts", 2)], "missing or empty: seg-00002.ts"],
    ["a segment cut short", [segment("seg-00002.ts", 2), segment("seg-00003.ts", 0.8)], "seg-00003.ts lasts 0.800 s instead of 2.000 s"],
    ["nothing at all", [], "no segment at all"],
  ])("refuses %s, retryably", (_case, written, problem) => {
    const attempt = () => assertSegmentsAsPlanned("360p", written, expectedChunkSegments(chunk, frameRate));
    expect(attempt).toThrow(RetryableError);
    expect(attempt).toThrow(problem);
  });

  it("checks an audio rendition's total length", () => {
    const expected = { totalSeconds: 8, toleranceSeconds: 0.064 };
    expect(() => assertSegmentsAsPlanned("audio", [segment("a.ts", 4), segment("b.ts", 3.98)], expected)).not.toThrow();
    expect(() => assertSegmentsAsPlanned("audio", [segment("a.ts", 4), segment("b.ts", 1.5)], expected)).toThrow("5.500 s in all instead of 8.000 s");
  });
});
