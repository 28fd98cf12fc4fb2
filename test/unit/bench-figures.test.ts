import { describe, expect, it } from "vitest";
import { makespan, modelReport, predictSeconds, type Components } from "../../bench/model.ts";
import type { CoreFrame } from "../../bench/measure.ts";
import { replayViewer } from "../../bench/playback.ts";
import { coreTimeline, renderTimelineSvg, sumWindow } from "../../bench/timeline.ts";

const components: Components = {
  videoSeconds: 60,
  chunkSeconds: 12,
  probeSeconds: 1,
  splitSeconds: 2,
  chunkEncodeSeconds: [20, 20, 20, 20, 20],
  audioSeconds: 3,
  thumbnailsSeconds: 5,
  publishSeconds: 1,
};

describe("the scaling model", () => {
  it("hands tasks in order to the first free worker", () => {
    expect(makespan([5, 5, 5], 1)).toBe(15);
    expect(makespan([5, 5, 5], 2)).toBe(10);
    expect(makespan([4, 1, 1, 1], 2)).toBe(4);
    expect(makespan([5, 5, 5], 32)).toBe(5);
  });

  it("predicts the fixed stages plus the parts' makespan, with a floor of one chunk beyond the chunk count", () => {
    expect(predictSeconds(components, 1)).toBe(1 + 2 + 108 + 1);
    // 5 chunks of 20 s, audio 3 s, thumbnails 5 s on two workers: 20,20,20 | 20,20,3,5 → 60.
    expect(predictSeconds(components, 2)).toBe(1 + 2 + 60 + 1);
    expect(predictSeconds(components, 8)).toBe(1 + 2 + 20 + 1);
    expect(predictSeconds(components, 32)).toBe(predictSeconds(components, 8));
    // 4 s chunks: 15 chunks of 4/12 × 20 s each.
    expect(predictSeconds(components, 32, 4)).toBeCloseTo(1 + 2 + 20 / 3 + 1, 5);
  });

  it("reports Lambda at its chunk length, one function per chunk", () => {
    const report = modelReport(components, 30);
    expect(report.lambda.functions).toBe(4);
    expect(report.lambda.seconds).toBe(1 + 2 + 50 + 1);
    expect(report.predictions.map((p) => [p.workers, p.chunkSeconds])).toEqual([
      [1, 12], [2, 12], [8, 12], [32, 12], [1, 4], [2, 4], [8, 4], [32, 4],
    ]);
  });
});

describe("the simulated viewer", () => {
  const segments = (times: number[]) => times.map((seenAtMs, i) => ({ start: i * 4, duration: 4, seenAtMs }));

  it("never stalls when each segment appears before its media time", () => {
    expect(replayViewer(segments([0, 3000, 7000]), segments([0, 0, 0]), 0)).toEqual({ stalls: 0, stalledSeconds: 0, startupWaitSeconds: 0, segments: 3 });
  });

  it("counts a stall and carries its delay to later segments", () => {
    // Segment 1 is due at 4 s but appears at 6 s: 2 s stall; segment 2 is then due at 10 s, appears at 9 s.
    expect(replayViewer(segments([0, 6000, 9000]), undefined, 0)).toMatchObject({ stalls: 1, stalledSeconds: 2 });
  });

  it("waits for the audio covering a segment too", () => {
    expect(replayViewer(segments([0, 0, 0]), segments([0, 0, 11_000]), 0)).toMatchObject({ stalls: 1, stalledSeconds: 3 });
  });
});

describe("the core timeline", () => {
  const frames: CoreFrame[] = [
    { atMs: 1000, intervalMs: 100, byPid: [{}, {}], busy: [0, 0] },
    { atMs: 1100, intervalMs: 100, byPid: [{ 7: 0.08 }, { 8: 0.02 }], busy: [0.1, 0.05] },
    { atMs: 1200, intervalMs: 100, byPid: [{ 7: 0.1 }, {}], busy: [0.1, 0] },
  ];
  const roleOf = (pid: number) => (pid === 7 ? "ffmpeg transcode" : "node (variant process)");

  it("splits each core's interval into roles, other processes and idle", () => {
    const timeline = coreTimeline(frames, roleOf, 1000);
    expect(timeline).toHaveLength(2);
    expect(timeline[0]!.cores[0]).toEqual({ roles: { "ffmpeg transcode": 0.08 }, other: expect.closeTo(0.02, 5), idle: 0 });
    expect(timeline[0]!.cores[1]).toEqual({ roles: { "node (variant process)": 0.02 }, other: expect.closeTo(0.03, 5), idle: expect.closeTo(0.05, 5) });
    expect(sumWindow(timeline)).toEqual({ roles: { "ffmpeg transcode": 0.18, "node (variant process)": 0.02 }, otherProcesses: 0.05, idle: 0.15 });
    expect(sumWindow(timeline, 0.15, 1)).toEqual({ roles: { "ffmpeg transcode": 0.1 }, otherProcesses: 0, idle: 0.1 });
  });

  it("draws one lane per core with a bar per role and a legend", () => {
    const svg = renderTimelineSvg([{ title: "pipeline", timeline: coreTimeline(frames, roleOf, 1000), marks: [{ t: 0.1, label: "ready" }] }], "caption");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("core 0");
    expect(svg).toContain("core 1");
    expect(svg.match(/fill="#3b6fd1"/g)!.length).toBeGreaterThanOrEqual(3); // two bars + the legend
    expect(svg).toContain(">ready<");
  });
});
