import { describe, expect, it } from "vitest";
import { etaAfter, type Video } from "../../player/src/api.ts";
import { formatAge, formatBytes, formatClock, formatRate, formatRemaining, RateMeter, secondsLeft } from "../../player/src/format.ts";
import { asSentence, progressLine, shownPercent, statusLine } from "../../player/src/status.ts";
import { uploadProgressText, videoIdFromUploadUrl } from "../../player/src/upload.ts";

describe("player formatting", () => {
  it("formats media clock times", () => {
    expect(formatClock(0)).toBe("0:00");
    expect(formatClock(5.9)).toBe("0:05");
    expect(formatClock(754)).toBe("12:34");
    expect(formatClock(3723)).toBe("1:02:03");
    expect(formatClock(Number.NaN)).toBe("0:00");
    expect(formatClock(Number.POSITIVE_INFINITY)).toBe("0:00");
    expect(formatClock(-3)).toBe("0:00");
  });

  it("formats sizes in decimal units with three significant figures at most", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.5 kB");
    expect(formatBytes(9960)).toBe("10 kB");
    expect(formatBytes(45_200_000)).toBe("45 MB");
    expect(formatBytes(1_234_000_000)).toBe("1.2 GB");
    expect(formatBytes(-1)).toBe("—");
    expect(formatRate(850_000)).toBe("850 kB/s");
  });

  it("says how long is left to a useful precision", () => {
    expect(formatRemaining(0.2)).toBe("1 s");
    expect(formatRemaining(8)).toBe("8 s");
    expect(formatRemaining(130)).toBe("2 min 10 s");
    expect(formatRemaining(120)).toBe("2 min");
    expect(formatRemaining(725)).toBe("12 min");
    expect(formatRemaining(3900)).toBe("1 h 5 min");
    expect(formatRemaining(7200)).toBe("2 h");
  });

  it("tells an upload's age", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatAge("2026-01-01T11:59:30Z", now)).toBe("just now");
    expect(formatAge("2026-01-01T11:57:00Z", now)).toBe("3 minutes ago");
    expect(formatAge("2026-01-01T11:00:00Z", now)).toBe("an hour ago");
    expect(formatAge("2025-12-31T10:00:00Z", now)).toBe("yesterday");
    expect(formatAge("not a date", now)).toBe("");
  });

  it("measures the upload rate over a sliding window", () => {
    const meter = new RateMeter(5000);
    expect(meter.sample(0, 0)).toBeNull();
    expect(meter.sample(1000, 1_000_000)).toBe(1_000_000);
    expect(meter.sample(2000, 3_000_000)).toBe(1_500_000);
    // The first second falls out of the 5 s window: only the recent pace counts.
    meter.sample(6000, 3_000_000);
    expect(meter.sample(7000, 3_000_000)).toBe(0);
    meter.reset();
    expect(meter.rate()).toBeNull();
    expect(secondsLeft(3_000_000, 1_000_000)).toBe(3);
    expect(secondsLeft(3_000_000, 0)).toBeNull();
    expect(secondsLeft(3_000_000, null)).toBeNull();
  });

  it("writes the upload progress line with bytes, speed and time left", () => {
    expect(uploadProgressText(1_500_000, 4_200_000, 850_000)).toBe("1.5 MB of 4.2 MB · 850 kB/s · 4 s left");
    expect(uploadProgressText(1_500_000, 4_200_000, null)).toBe("1.5 MB of 4.2 MB");
    expect(uploadProgressText(4_200_000, 4_200_000, 850_000)).toBe("4.2 MB of 4.2 MB");
  });

  it("takes the video id from the tus upload URL", () => {
    expect(videoIdFromUploadUrl("http://127.0.0.1:8080/v1/uploads/abc123")).toBe("abc123");
    expect(videoIdFromUploadUrl("/v1/uploads/abc123/")).toBe("abc123");
  });

  it("counts the ETA down between the server's updates", () => {
    const video = { status: "processing", etaSeconds: 30 } as Video;
    expect(etaAfter(video, 4500).etaSeconds).toBe(25.5);
    expect(etaAfter(video, 60_000).etaSeconds).toBe(1);
    expect(etaAfter({ ...video, status: "ready" }, 4500).etaSeconds).toBe(30);
    expect(etaAfter({ ...video, etaSeconds: null }, 4500).etaSeconds).toBeNull();
  });

  it("reads a video's state for people", () => {
    expect(statusLine({ status: "processing", progress: 42.7, stage: "transcode", etaSeconds: 12 })).toBe("Processing — 42% · encoding · about 12 s left");
    expect(statusLine({ status: "processing", progress: 3, stage: null, etaSeconds: null })).toBe("Processing — 3%");
    expect(progressLine({ status: "processing", progress: 64.2, stage: "thumbnails", etaSeconds: 130 })).toBe("64% · making thumbnails · about 2 min 10 s left");
    expect(statusLine({ status: "queued", progress: 0, stage: null, etaSeconds: null })).toBe("Queued — waiting for a worker");
    expect(shownPercent({ status: "processing", progress: 100 })).toBe(99);
    expect(shownPercent({ status: "ready", progress: 97 })).toBe(100);
    expect(asSentence("the file is an HTML/XML page, not a video (a download that saved an error page?)")).toBe(
      "The file is an HTML/XML page, not a video (a download that saved an error page?).",
    );
    expect(asSentence("It is empty.")).toBe("It is empty.");
    expect(asSentence(null)).toBe("The video could not be processed.");
    expect(asSentence("  ")).toBe("The video could not be processed.");
  });
});
