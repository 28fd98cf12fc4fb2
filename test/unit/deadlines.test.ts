import { describe, expect, it } from "vitest";
import { processDeadlineSeconds } from "../../shared/media/deadlines.ts";

describe("child-process deadlines", () => {
  const settings = { baseSeconds: 120, perMediaSecond: 20 };
  it("give a transcode the base plus the factor per second of its chunk", () => {
    expect(processDeadlineSeconds(settings, "transcode", 12)).toBe(360);
  });
  it("weight lighter work less: audio, thumbnails, a stream copy, a container probe", () => {
    expect(processDeadlineSeconds(settings, "audio", 600)).toBe(1320);
    expect(processDeadlineSeconds(settings, "thumbnails", 600)).toBe(3120);
    expect(processDeadlineSeconds(settings, "scan", 14_400)).toBe(14_520);
    expect(processDeadlineSeconds(settings, "probe", 14_400)).toBe(120);
  });
  it("fall back to the base for a length that is unknown or nonsense, and round up", () => {
    expect(processDeadlineSeconds(settings, "transcode", Number.NaN)).toBe(120);
    expect(processDeadlineSeconds(settings, "transcode", -5)).toBe(120);
    expect(processDeadlineSeconds({ baseSeconds: 3, perMediaSecond: 0.5 }, "scan", 10)).toBe(4);
  });
});
