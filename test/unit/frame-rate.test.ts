import { describe, expect, it } from "vitest";
import { chooseFrameRate, parseRational, snapFrameRate, toNumber } from "../../shared/media/frame-rate.ts";

describe("parseRational", () => {
  it("reads ffprobe's fractions and plain numbers", () => {
    expect(parseRational("30000/1001")).toEqual({ num: 30000, den: 1001 });
    expect(parseRational("25/1")).toEqual({ num: 25, den: 1 });
    expect(parseRational("25")).toEqual({ num: 25, den: 1 });
    expect(parseRational("580000/21007")).toEqual({ num: 580000, den: 21007 });
  });

  it("rejects what is not a positive rate", () => {
    expect(parseRational(undefined)).toBeUndefined();
    expect(parseRational("")).toBeUndefined();
    expect(parseRational("0/0")).toBeUndefined();
    expect(parseRational("0/1")).toBeUndefined();
    expect(parseRational("30/0")).toBeUndefined();
    expect(parseRational("-30/1")).toBeUndefined();
    expect(parseRational("N/A")).toBeUndefined();
  });
});

describe("snapFrameRate", () => {
  it("keeps NTSC rates as exact fractions", () => {
    expect(snapFrameRate(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(snapFrameRate(30000 / 1001)).toEqual({ num: 30000, den: 1001 });
    expect(snapFrameRate(23.976)).toEqual({ num: 24000, den: 1001 });
    expect(snapFrameRate(59.94)).toEqual({ num: 60000, den: 1001 });
  });

  it("snaps jittery measurements to the nearest standard rate", () => {
    expect(snapFrameRate(30.009)).toEqual({ num: 30, den: 1 });
    expect(snapFrameRate(60.06)).toEqual({ num: 60, den: 1 });
    expect(snapFrameRate(24.9)).toEqual({ num: 25, den: 1 });
    expect(snapFrameRate(50.2)).toEqual({ num: 50, den: 1 });
    expect(snapFrameRate(119.88)).toEqual({ num: 120000, den: 1001 });
  });

  it("keeps a rate far from every standard one, to 1/1000 fps", () => {
    expect(snapFrameRate(15)).toEqual({ num: 15000, den: 1000 });
    expect(snapFrameRate(12.5)).toEqual({ num: 12500, den: 1000 });
    expect(snapFrameRate(40)).toEqual({ num: 40000, den: 1000 });
  });
});

describe("chooseFrameRate", () => {
  it("measures from packet timing, not the FLV header's 1000 fps", () => {
    // androidx_sample.flv: 30 packets from 0.067 s to 1.034 s, avg_frame_rate 1000/1.
    expect(chooseFrameRate({ frameCount: 30, startSpanSeconds: 0.967, headerRate: { num: 1000, den: 1 }, maxFrameRate: 60 }))
      .toEqual({ num: 30, den: 1 });
  });

  it("measures a VFR motion photo (58 frames over 2.07 s) as about 27.5 fps, kept as measured", () => {
    expect(chooseFrameRate({ frameCount: 58, startSpanSeconds: 2.07, headerRate: { num: 120, den: 1 }, maxFrameRate: 60 }))
      .toEqual({ num: 27536, den: 1000 });
  });

  it("keeps 29.97 as 30000/1001 when measured", () => {
    // 127 frames over 126 intervals of 1001/30000 s.
    expect(chooseFrameRate({ frameCount: 127, startSpanSeconds: (126 * 1001) / 30000, maxFrameRate: 60 }))
      .toEqual({ num: 30000, den: 1001 });
  });

  it("falls back to the header for a single frame, then to 30 fps", () => {
    expect(chooseFrameRate({ frameCount: 1, startSpanSeconds: 0, headerRate: { num: 30000, den: 1001 }, maxFrameRate: 60 }))
      .toEqual({ num: 30000, den: 1001 });
    expect(chooseFrameRate({ frameCount: 1, startSpanSeconds: 0, headerRate: { num: 1000, den: 1 }, maxFrameRate: 60 }))
      .toEqual({ num: 30, den: 1 });
    expect(chooseFrameRate({ frameCount: 1, startSpanSeconds: 0, maxFrameRate: 60 })).toEqual({ num: 30, den: 1 });
    // Two packets with the same timestamp give no span either.
    expect(chooseFrameRate({ frameCount: 2, startSpanSeconds: 0, headerRate: { num: 25, den: 1 }, maxFrameRate: 60 }))
      .toEqual({ num: 25, den: 1 });
  });

  it("halves a rate above the cap until it fits, keeping it exact", () => {
    const cap = (fps: number, maxFrameRate: number) =>
      chooseFrameRate({ frameCount: 2, startSpanSeconds: 1 / fps, maxFrameRate });
    expect(cap(60, 30)).toEqual({ num: 30, den: 1 });
    expect(cap(120, 30)).toEqual({ num: 30, den: 1 });
    expect(cap(60000 / 1001, 30)).toEqual({ num: 30000, den: 1001 });
    expect(cap(120000 / 1001, 60)).toEqual({ num: 60000, den: 1001 });
    expect(cap(50, 30)).toEqual({ num: 25, den: 1 });
    expect(cap(100, 60)).toEqual({ num: 50, den: 1 });
    expect(cap(25, 20)).toEqual({ num: 25, den: 2 });
    expect(toNumber(cap(25, 20))).toBe(12.5);
  });

  it("leaves a rate at the cap alone", () => {
    expect(chooseFrameRate({ frameCount: 61, startSpanSeconds: 1, maxFrameRate: 60 })).toEqual({ num: 60, den: 1 });
    expect(chooseFrameRate({ frameCount: 2, startSpanSeconds: 1001 / 60000, maxFrameRate: 60 })).toEqual({ num: 60000, den: 1001 });
  });
});
