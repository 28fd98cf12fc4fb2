import { describe, expect, it } from "vitest";
import { estimateSecondsLeft, overallProgress, partWeights, type ProgressPlan } from "../../shared/progress/overall-progress.ts";

const plan: ProgressPlan = {
  chunks: { chunks: [{ index: 0, frameCount: 300 }, { index: 1, frameCount: 100 }] },
  hasAudio: true,
  parts: ["chunk-000", "chunk-001", "audio", "thumbnails"],
};

describe("partWeights", () => {
  it("weighs chunks by frames and audio and thumbnails by the whole video's frames", () => {
    expect(partWeights(plan)).toEqual({ "chunk-000": 300, "chunk-001": 100, audio: 24, thumbnails: 40 });
  });
});

describe("overallProgress", () => {
  const base = { plan, finishedParts: [], partFractions: {}, startedAtMs: 1_000_000, nowMs: 1_010_000 };

  it("is 0 with no estimate while uploading or queued", () => {
    expect(overallProgress({ ...base, status: "uploading" })).toEqual({ percent: 0, etaSeconds: null, stage: "uploading" });
    expect(overallProgress({ ...base, status: "queued" })).toEqual({ percent: 0, etaSeconds: null, stage: "queued" });
  });

  it("counts ingest as done once there is a plan, and waits for split before any part runs", () => {
    expect(overallProgress({ ...base, status: "processing" })).toEqual({ percent: 4, etaSeconds: null, stage: "splitting" });
    expect(overallProgress({ ...base, status: "processing", plan: undefined })).toEqual({ percent: 0, etaSeconds: null, stage: "ingesting" });
  });

  it("moves with each running chunk's fraction, not per finished part", () => {
    // 8 + 87 × (0.5 × 300 + 0.25 × 100) / 464 = 8 + 87 × 175/464 = 40.8
    const half = overallProgress({ ...base, status: "processing", partFractions: { "chunk-000": 0.5, "chunk-001": 0.25 } });
    expect(half).toEqual({ percent: 40.8, etaSeconds: 15, stage: "encoding" });
    const more = overallProgress({ ...base, status: "processing", partFractions: { "chunk-000": 0.6, "chunk-001": 0.25 } });
    expect(more.percent).toBe(46.4);
  });

  it("counts a finished part whole whatever its last record said, and publishes at 95", () => {
    const finished = overallProgress({ ...base, status: "processing", finishedParts: ["chunk-000", "chunk-001", "audio"], partFractions: { "chunk-000": 0.9 } });
    expect(finished).toEqual({ percent: 87.5, etaSeconds: 1, stage: "encoding" });
    const publishing = overallProgress({ ...base, status: "processing", finishedParts: plan.parts });
    expect(publishing).toEqual({ percent: 95, etaSeconds: 1, stage: "publishing" });
  });

  it("is 100 when ready and keeps its percent without an estimate when failed", () => {
    expect(overallProgress({ ...base, status: "ready" })).toEqual({ percent: 100, etaSeconds: 0, stage: null });
    expect(overallProgress({ ...base, status: "failed", partFractions: { "chunk-000": 1 } })).toEqual({ percent: 64.3, etaSeconds: null, stage: null });
  });

  it("ignores fractions out of range or of parts the plan does not have", () => {
    const odd = overallProgress({ ...base, status: "processing", partFractions: { "chunk-000": 7, "chunk-001": -1, "chunk-099": 1 } });
    expect(odd.percent).toBe(64.3);
  });
});

describe("estimateSecondsLeft", () => {
  it("extrapolates the pace so far, once past 10%", () => {
    expect(estimateSecondsLeft(25, 0, 30_000)).toBe(90);
    expect(estimateSecondsLeft(50, 0, 30_000)).toBe(30);
    expect(estimateSecondsLeft(9.9, 0, 30_000)).toBeNull();
    expect(estimateSecondsLeft(50, undefined, 30_000)).toBeNull();
    expect(estimateSecondsLeft(99.9, 0, 1_000)).toBe(1);
  });
});
