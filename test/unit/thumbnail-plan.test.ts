import { describe, expect, it } from "vitest";
import { PermanentError } from "../../shared/errors.ts";
import {
  candidateTimes,
  chooseInterval,
  DEFAULT_THUMBNAIL_SETTINGS,
  planThumbnails,
  posterSizes,
  storyboardVtt,
  tileSize,
  vttTimestamp,
} from "../../shared/media/thumbnail-plan.ts";
import { extractionArgs, extractionFiles, firstFrameAtOrAfter } from "../../services/thumbnails/extract-frames.ts";

describe("posterSizes", () => {
  it("keeps a 640x480 display as is and adds the 640 and 320 widths", () => {
    expect(posterSizes(640, 480, DEFAULT_THUMBNAIL_SETTINGS)).toEqual({
      width: 640,
      height: 480,
      sizes: [
        { name: "poster", width: 640, height: 480 },
        { name: "poster-640", width: 640, height: 480 },
        { name: "poster-320", width: 320, height: 240 },
      ],
    });
  });

  it("caps a rotated 4K portrait at 1920 on the long side", () => {
    expect(posterSizes(2160, 3840, DEFAULT_THUMBNAIL_SETTINGS).sizes).toEqual([
      { name: "poster", width: 1080, height: 1920 },
      { name: "poster-640", width: 640, height: 1138 },
      { name: "poster-320", width: 320, height: 569 },
    ]);
  });

  it("skips widths larger than a small video and never upscales", () => {
    expect(posterSizes(161, 121, DEFAULT_THUMBNAIL_SETTINGS).sizes).toEqual([{ name: "poster", width: 161, height: 121 }]);
    expect(posterSizes(480, 270, DEFAULT_THUMBNAIL_SETTINGS).sizes).toEqual([
      { name: "poster", width: 480, height: 270 },
      { name: "poster-320", width: 320, height: 180 },
    ]);
  });
});

describe("candidateTimes", () => {
  it("spreads six candidates over a 14.04 s video, on whole milliseconds", () => {
    expect(candidateTimes(14.04, DEFAULT_THUMBNAIL_SETTINGS)).toEqual([1.404, 3.51, 5.616, 7.722, 9.828, 11.934]);
  });

  it("keeps one candidate for a one-frame clip and two for 0.107 s", () => {
    expect(candidateTimes(0.033, DEFAULT_THUMBNAIL_SETTINGS)).toEqual([0.003]);
    expect(candidateTimes(0.107, DEFAULT_THUMBNAIL_SETTINGS)).toEqual([0.011, 0.059]);
  });
});

describe("tileSize", () => {
  it("fits a 160 px box, aspect kept, no upscaling", () => {
    expect(tileSize(1920, 1080, 160)).toEqual({ width: 160, height: 90 });
    expect(tileSize(2160, 3840, 160)).toEqual({ width: 90, height: 160 });
    expect(tileSize(161, 121, 160)).toEqual({ width: 160, height: 120 });
    expect(tileSize(100, 60, 160)).toEqual({ width: 100, height: 60 });
  });
});

describe("chooseInterval", () => {
  it("takes the first step that keeps at most 200 tiles", () => {
    expect(chooseInterval(0.033, DEFAULT_THUMBNAIL_SETTINGS)).toBe(1);
    expect(chooseInterval(14.04, DEFAULT_THUMBNAIL_SETTINGS)).toBe(1);
    expect(chooseInterval(250, DEFAULT_THUMBNAIL_SETTINGS)).toBe(2);
    expect(chooseInterval(600, DEFAULT_THUMBNAIL_SETTINGS)).toBe(5);
    expect(chooseInterval(3600, DEFAULT_THUMBNAIL_SETTINGS)).toBe(20);
    expect(chooseInterval(7200, DEFAULT_THUMBNAIL_SETTINGS)).toBe(60);
  });

  it("goes past the list in multiples of its last step for very long videos", () => {
    expect(chooseInterval(100_000, DEFAULT_THUMBNAIL_SETTINGS)).toBe(600);
    expect(chooseInterval(200_000, DEFAULT_THUMBNAIL_SETTINGS)).toBe(1200);
  });
});

describe("planThumbnails storyboard", () => {
  it("packs 14 one-second tiles of a 14.04 s video into one 10x2 sheet; the last cue ends at 14.04", () => {
    const { storyboard } = planThumbnails({ durationSeconds: 14.04, displayWidth: 640, displayHeight: 480 });
    expect(storyboard).toMatchObject({ interval: 1, tileWidth: 160, tileHeight: 120, columns: 10, rows: 2, tileCount: 14 });
    expect(storyboard.sheets).toEqual([{ index: 0, name: "storyboard-0.jpg", width: 1600, height: 240, firstTile: 0, tileCount: 14 }]);
    expect(storyboard.tiles[0]).toEqual({ index: 0, start: 0, end: 1, frameTime: 0.5, sheet: 0, x: 0, y: 0 });
    expect(storyboard.tiles[10]).toEqual({ index: 10, start: 10, end: 11, frameTime: 10.5, sheet: 0, x: 0, y: 120 });
    expect(storyboard.tiles[13]).toEqual({ index: 13, start: 13, end: 14.04, frameTime: 13.5, sheet: 0, x: 480, y: 120 });
  });

  it("gives a video shorter than the interval one tile covering all of it", () => {
    const { storyboard } = planThumbnails({ durationSeconds: 0.033, displayWidth: 640, displayHeight: 480 });
    expect(storyboard).toMatchObject({ interval: 1, columns: 1, rows: 1, tileCount: 1 });
    expect(storyboard.sheets).toEqual([{ index: 0, name: "storyboard-0.jpg", width: 160, height: 120, firstTile: 0, tileCount: 1 }]);
    expect(storyboard.tiles).toEqual([{ index: 0, start: 0, end: 0.033, frameTime: 0.033, sheet: 0, x: 0, y: 0 }]);
  });

  it("splits 125 tiles over two sheets of at most 10x10; the second is 3 rows high", () => {
    const { storyboard } = planThumbnails({ durationSeconds: 250, displayWidth: 1920, displayHeight: 1080 });
    expect(storyboard).toMatchObject({ interval: 2, tileWidth: 160, tileHeight: 90, columns: 10, rows: 10, tileCount: 125 });
    expect(storyboard.sheets).toEqual([
      { index: 0, name: "storyboard-0.jpg", width: 1600, height: 900, firstTile: 0, tileCount: 100 },
      { index: 1, name: "storyboard-1.jpg", width: 1600, height: 270, firstTile: 100, tileCount: 25 },
    ]);
    expect(storyboard.tiles[99]).toMatchObject({ start: 198, end: 200, sheet: 0, x: 1440, y: 810 });
    expect(storyboard.tiles[100]).toMatchObject({ start: 200, end: 202, sheet: 1, x: 0, y: 0 });
    expect(storyboard.tiles[124]).toMatchObject({ start: 248, end: 250, sheet: 1, x: 640, y: 180 });
  });

  it("rejects a zero duration or size as a permanent error", () => {
    expect(() => planThumbnails({ durationSeconds: 0, displayWidth: 640, displayHeight: 480 })).toThrow(PermanentError);
    expect(() => planThumbnails({ durationSeconds: 2, displayWidth: 0, displayHeight: 480 })).toThrow(PermanentError);
  });
});

describe("storyboardVtt", () => {
  it("writes contiguous cues with sheet-relative xywh fragments", () => {
    const { storyboard } = planThumbnails({ durationSeconds: 2.4, displayWidth: 1920, displayHeight: 1080 });
    expect(storyboardVtt(storyboard)).toBe(
      [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:01.000",
        "storyboard-0.jpg#xywh=0,0,160,90",
        "",
        "00:00:01.000 --> 00:00:02.400",
        "storyboard-0.jpg#xywh=160,0,160,90",
        "",
      ].join("\n"),
    );
  });

  it("formats hours, minutes and milliseconds", () => {
    expect(vttTimestamp(0)).toBe("00:00:00.000");
    expect(vttTimestamp(3723.4567)).toBe("01:02:03.457");
    expect(vttTimestamp(59.9996)).toBe("00:01:00.000");
  });
});

describe("extractionArgs", () => {
  it("reads local files only, maps the chosen track, and writes raw RGB frames in one run", () => {
    const files = extractionFiles("/w", 1);
    const args = extractionArgs(
      { ffmpegPath: "ffmpeg", inputPath: "/in/source", videoStreamIndex: 1 },
      { candidateTimes: [0.5], posterSize: { width: 640, height: 360 }, interval: 5, tileCount: 3, tileSize: { width: 160, height: 90 } },
      files,
    );
    expect(args.slice(args.indexOf("-protocol_whitelist"), args.indexOf("-protocol_whitelist") + 2)).toEqual(["-protocol_whitelist", "file"]);
    expect(args[args.indexOf("-filter_complex") + 1]).toBe(
      [
        "[0:1]setpts=PTS-STARTPTS,yadif=mode=0:parity=-1:deint=1,split=3[c0][first][tiles]",
        "[c0]select='(isnan(prev_t)+lt(prev_t,0.500000))*gte(t,0.500000)',scale=640:360:flags=lanczos,setsar=1,format=rgb24[out_c0]",
        "[first]select='eq(n,0)',scale=640:360:flags=lanczos,setsar=1,format=rgb24[out_first]",
        "[tiles]fps=fps=1/5:eof_action=pass,scale=160:90:flags=lanczos,setsar=1,format=rgb24[out_tiles]",
      ].join(";"),
    );
    expect(args.slice(args.indexOf("-filter_complex") + 2)).toEqual([
      "-map", "[out_c0]", "-frames:v", "1", "-f", "rawvideo", "/w/candidate-0.rgb",
      "-map", "[out_first]", "-frames:v", "1", "-f", "rawvideo", "/w/first.rgb",
      "-map", "[out_tiles]", "-frames:v", "3", "-f", "rawvideo", "/w/tiles.rgb",
    ]);
  });

  it("decodes keyframes only when asked, as an input option before the upload", () => {
    const request = { candidateTimes: [1], posterSize: { width: 640, height: 360 }, interval: 2, tileCount: 2, tileSize: { width: 160, height: 90 } };
    const source = { ffmpegPath: "ffmpeg", inputPath: "/in/source", videoStreamIndex: 0 };
    const keyframes = extractionArgs({ ...source, keyframesOnly: true }, request, extractionFiles("/w", 1));
    expect(keyframes.slice(keyframes.indexOf("-skip_frame"), keyframes.indexOf("-skip_frame") + 3)).toEqual(["-skip_frame", "nokey", "-i"]);
    expect(extractionArgs(source, request, extractionFiles("/w", 1))).not.toContain("-skip_frame");
    // fps repeats keyframes rather than dropping frames: each decoded one is scaled once, before it.
    const graph = keyframes[keyframes.indexOf("-filter_complex") + 1]!;
    expect(graph.split(";").at(-1)).toBe("[tiles]scale=160:90:flags=lanczos,setsar=1,format=rgb24,fps=fps=1/2:eof_action=pass[out_tiles]");
  });

  it("tone-maps HDR before scaling when asked", () => {
    expect(firstFrameAtOrAfter(0)).toBe("select='(isnan(prev_t)+lt(prev_t,0.000000))*gte(t,0.000000)'");
    const args = extractionArgs(
      { ffmpegPath: "ffmpeg", inputPath: "/in/source", videoStreamIndex: 0, toneMap: "hlg" },
      { candidateTimes: [], posterSize: { width: 720, height: 1280 }, interval: 1, tileCount: 1, tileSize: { width: 90, height: 160 } },
      extractionFiles("/w", 0),
    );
    expect(args[args.indexOf("-filter_complex") + 1]).toContain(
      "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,scale=90:160:flags=lanczos,setsar=1,format=rgb24[out_tiles]",
    );
  });
});
