import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createProgressDisplay, fileLabels, fitLabel, formatDuration, formatProgressLine } from "../../app/cli/progress-display.ts";

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk) => (text += chunk));
  return { stream, text: () => text };
}

describe("progress lines", () => {
  it("formats durations as m:ss or h:mm:ss", () => {
    expect([0, 5, 65, 600, 3723, 59.6].map(formatDuration)).toEqual(["0:00", "0:05", "1:05", "10:00", "1:02:03", "1:00"]);
  });

  it("keeps the end of a long label, where the file name is", () => {
    expect(fitLabel("a.mp4", 8)).toBe("a.mp4   ");
    expect(fitLabel("videos/holiday/beach.mp4", 10)).toBe("…beach.mp4");
  });

  it("draws a bar, the percentage, the stage and the time left", () => {
    expect(formatProgressLine("clip.mp4", { percent: 37.5, stage: "encoding", etaSeconds: 42 }, 10)).toBe(
      "clip.mp4   [█████████░░░░░░░░░░░░░░░]  37.5%  encoding   0:42 left",
    );
    expect(formatProgressLine("clip.mp4", { percent: 100, stage: "ready", etaSeconds: null }, 8)).toBe(
      "clip.mp4 [████████████████████████] 100.0%  ready",
    );
  });
});

describe("the display", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("prints a plain line when a file's stage changes, when not on a terminal", () => {
    const out = capture();
    const display = createProgressDisplay({ stream: out.stream, interactive: false, labels: ["a.mp4", "b.mov"] });
    display.update(0, { percent: 4, stage: "ingesting", etaSeconds: null });
    display.update(0, { percent: 30, stage: "encoding", etaSeconds: 20 });
    display.update(0, { percent: 60, stage: "encoding", etaSeconds: 10 });
    display.update(1, { percent: 0, stage: "failed", etaSeconds: null });
    display.close();
    expect(out.text().split("\n")).toEqual([
      "a.mp4    [█░░░░░░░░░░░░░░░░░░░░░░░]   4.0%  ingesting",
      "a.mp4    [███████░░░░░░░░░░░░░░░░░]  30.0%  encoding   0:20 left",
      "b.mov    [░░░░░░░░░░░░░░░░░░░░░░░░]   0.0%  failed",
      "",
    ]);
  });

  it("redraws every file's line in place on a terminal, at most once per interval", () => {
    vi.useFakeTimers();
    const out = capture();
    const display = createProgressDisplay({ stream: out.stream, interactive: true, labels: ["a.mp4", "b.mov"], redrawMilliseconds: 100, columns: 40 });
    display.update(0, { percent: 10, stage: "encoding", etaSeconds: 50 });
    vi.advanceTimersByTime(0);
    const first = out.text();
    expect(first).toBe("\r\x1b[2Ka.mp4    [██░░░░░░░░░░░░░░░░░░░░░░]  10\n\r\x1b[2Kb.mov    [░░░░░░░░░░░░░░░░░░░░░░░░]   0\n");
    display.update(0, { percent: 20, stage: "encoding", etaSeconds: 40 });
    display.update(1, { percent: 50, stage: "encoding", etaSeconds: 40 });
    vi.advanceTimersByTime(50);
    expect(out.text()).toBe(first);
    vi.advanceTimersByTime(50);
    const second = out.text().slice(first.length);
    expect(second.startsWith("\x1b[2A\r\x1b[2Ka.mp4    [█████░")).toBe(true);
    expect(second.split("\n")).toHaveLength(3);
    display.close();
    display.update(0, { percent: 99, stage: "encoding", etaSeconds: 1 });
    vi.advanceTimersByTime(1000);
    expect(out.text().match(/\x1b\[2A/g)).toHaveLength(2);
  });
});

describe("a terminal that reports no width", () => {
  it("gets whole lines, not lines cut to its 0 columns", () => {
    vi.useFakeTimers();
    const out = capture();
    const display = createProgressDisplay({ stream: out.stream, interactive: true, labels: ["a.mp4"], redrawMilliseconds: 100, columns: 0 });
    display.update(0, { percent: 100, stage: "ready", etaSeconds: null });
    vi.advanceTimersByTime(0);
    expect(out.text()).toBe("\r\x1b[2Ka.mp4    [████████████████████████] 100.0%  ready\n");
    display.close();
    vi.useRealTimers();
  });
});

describe("fileLabels", () => {
  it("names each line by its file name, and by the path given where two files share a name", () => {
    expect(fileLabels(["/home/me/videos/holiday.mp4", "clips/b.mov"])).toEqual(["holiday.mp4", "b.mov"]);
    expect(fileLabels(["a/clip.mp4", "b/clip.mp4", "c/other.mp4"])).toEqual(["a/clip.mp4", "b/clip.mp4", "other.mp4"]);
  });
});
