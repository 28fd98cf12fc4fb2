import { describe, expect, it } from "vitest";
import { extractionArgs } from "../../services/thumbnails/extract-frames.ts";
import {
  audioArgs,
  decodedSplitArgs,
  forceKeyframesExpression,
  seconds,
  splitArgs,
  transcodeChunkArgs,
  type RenditionOutput,
  type TranscodeChunkArgs,
} from "../../shared/media/encode-args.ts";
import type { Rendition } from "../../shared/media/ladder.ts";
import { remuxForProbeArgs } from "../../shared/media/probe.ts";

const WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,dv,mpeg,mpegvideo,mp3,ogg,asf,mxf,wav,aac,m4v,h264,hevc";

/**
 * The part of ffmpeg's expression language the keyframe expression may use: numbers, `n`, `*`,
 * and eq/lte/not/mod with libavutil's semantics (mod is x - y*floor(x/y)). Anything else throws,
 * so a change to the expression's shape fails loudly here.
 */
function evaluate(expression: string, n: number): number {
  let at = 0;
  const peek = () => expression[at];
  const consume = (char: string) => {
    if (expression[at] !== char) throw new Error(`expected ${char} at ${at} in ${expression}`);
    at += 1;
  };
  const term = (): number => {
    const number = /^\d+(\.\d+)?/.exec(expression.slice(at));
    if (number) {
      at += number[0].length;
      return Number(number[0]);
    }
    const name = /^[a-z]+/.exec(expression.slice(at))?.[0];
    if (!name) throw new Error(`unexpected ${peek()} at ${at} in ${expression}`);
    at += name.length;
    if (name === "n") return n;
    consume("(");
    const args = [sum()];
    while (peek() === ",") {
      at += 1;
      args.push(sum());
    }
    consume(")");
    const [a = NaN, b = NaN] = args;
    switch (name) {
      case "eq": return a === b ? 1 : 0;
      case "lte": return a <= b ? 1 : 0;
      case "not": return a === 0 ? 1 : 0;
      case "mod": return a - b * Math.floor(a / b);
      default: throw new Error(`unknown function ${name}`);
    }
  };
  const product = (): number => {
    let value = term();
    while (peek() === "*") {
      at += 1;
      value *= term();
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (peek() === "+") {
      at += 1;
      value += product();
    }
    return value;
  };
  if (!expression.startsWith("expr:")) throw new Error(`not an expression: ${expression}`);
  at = 5;
  const value = sum();
  if (at !== expression.length) throw new Error(`trailing text at ${at} in ${expression}`);
  return value;
}

/** The frame numbers 0..frameCount-1 where ffmpeg would force a keyframe. */
function forcedFrames(expression: string, frameCount: number): number[] {
  return Array.from({ length: frameCount }, (_, n) => n).filter((n) => evaluate(expression, n) !== 0);
}

const RENDITIONS: Rendition[] = [
  { name: "720p", width: 1280, height: 720, videoKbps: 2800, maxrateKbps: 3080, bufsizeKbps: 5600, profile: "high" },
  { name: "480p", width: 854, height: 480, videoKbps: 1400, maxrateKbps: 1540, bufsizeKbps: 2800, profile: "main" },
  { name: "360p", width: 640, height: 360, videoKbps: 800, maxrateKbps: 880, bufsizeKbps: 1600, profile: "main" },
];

function outputsFor(renditions: Rendition[]): RenditionOutput[] {
  return renditions.map((rendition) => ({
    rendition,
    playlistPath: `/tmp/w/${rendition.name}/ffmpeg.m3u8`,
    segmentPattern: `/tmp/w/${rendition.name}/seg-%05d.ts`,
  }));
}

const CHUNK: TranscodeChunkArgs = {
  input: "/tmp/w/chunk.mkv",
  seekSeconds: 0.5,
  frameCount: 360,
  startTime: 12,
  firstSegment: 3,
  keyframeOffsets: [0, 120, 240],
  filters: { frameRate: { num: 30, den: 1 }, toneMap: null, fullRange: false },
  preset: "veryfast",
  threads: 1,
  outputs: outputsFor(RENDITIONS),
};

describe("seconds", () => {
  it("prints six decimals without float noise", () => {
    expect(seconds(2.0000000000000004)).toBe("2.000000");
    expect(seconds(0.1 + 0.2)).toBe("0.300000");
    expect(seconds(360 / (30000 / 1001))).toBe("12.012000");
    expect(seconds(0)).toBe("0.000000");
  });
});

describe("splitArgs", () => {
  it("copies the chosen video track from a keyframe, reading the upload with local files and known formats only", () => {
    expect(splitArgs({ input: "/tmp/w/source", output: "/tmp/w/chunk-1.mkv", streamIndex: 0, keyframeTime: 11.525, durationSeconds: 5.5 })).toEqual([
      "-v", "error", "-nostdin", "-y",
      "-protocol_whitelist", "file", "-format_whitelist", WHITELIST,
      "-ss", "11.526000",
      "-fflags", "+genpts",
      "-i", "/tmp/w/source",
      "-map", "0:0",
      "-c", "copy", "-an", "-sn", "-dn",
      "-map_metadata", "-1", "-map_chapters", "-1",
      "-fflags", "+bitexact",
      "-t", "5.500000",
      "-f", "matroska",
      "/tmp/w/chunk-1.mkv",
    ]);
  });

  it("does not seek or cut for a first-and-last chunk", () => {
    expect(splitArgs({ input: "/tmp/w/source", output: "/tmp/w/chunk-0.mkv", streamIndex: 2 })).toEqual([
      "-v", "error", "-nostdin", "-y",
      "-protocol_whitelist", "file", "-format_whitelist", WHITELIST,
      "-fflags", "+genpts",
      "-i", "/tmp/w/source",
      "-map", "0:2",
      "-c", "copy", "-an", "-sn", "-dn",
      "-map_metadata", "-1", "-map_chapters", "-1",
      "-fflags", "+bitexact",
      "-f", "matroska",
      "/tmp/w/chunk-0.mkv",
    ]);
  });
});

describe("audioArgs", () => {
  it("encodes the whole track once, aligned to the video start, from a whitelisted local input", () => {
    expect(audioArgs({
      input: "/tmp/w/source", streamIndex: 1, videoStartTime: 1.525, durationSeconds: 10, segmentSeconds: 4,
      playlistPath: "/tmp/w/audio/ffmpeg.m3u8", segmentPattern: "/tmp/w/audio/seg-%05d.ts", threads: 1,
    })).toEqual([
      "-v", "error", "-nostdin", "-y",
      "-threads", "1",
      "-protocol_whitelist", "file", "-format_whitelist", WHITELIST,
      "-ss", "1.525000",
      "-i", "/tmp/w/source",
      "-map", "0:1",
      "-vn", "-sn", "-dn",
      "-af", "aresample=48000:async=1:first_pts=0,apad",
      "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000",
      // One AAC frame (1024 / 48000 s) less than the video: the encoder's priming frame fills it.
      "-t", "9.978667",
      // The same timeline offset as every video chunk, so encoder delays never go negative.
      "-output_ts_offset", "10.000000",
      "-map_metadata", "-1",
      "-f", "hls", "-hls_time", "4", "-hls_list_size", "0", "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts",
      "-hls_segment_filename", "/tmp/w/audio/seg-%05d.ts",
      "/tmp/w/audio/ffmpeg.m3u8",
    ]);
  });

  it("does not seek when the video starts at 0, and never asks for less than one AAC frame", () => {
    const args = audioArgs({
      input: "/tmp/w/source", streamIndex: 0, videoStartTime: 0, durationSeconds: 0.01, segmentSeconds: 4,
      playlistPath: "/tmp/w/a.m3u8", segmentPattern: "/tmp/w/a-%05d.ts", threads: 2,
    });
    expect(args).not.toContain("-ss");
    expect(args[args.indexOf("-t") + 1]).toBe("0.021333");
    expect(args.indexOf("-protocol_whitelist")).toBeLessThan(args.indexOf("-i"));
  });
});

describe("forceKeyframesExpression", () => {
  it("writes an IDR at every segment start of the chunk", () => {
    expect(forceKeyframesExpression([0, 120, 240])).toBe("expr:eq(n,0)+eq(n,120)+eq(n,240)");
    expect(forceKeyframesExpression([0])).toBe("expr:eq(n,0)");
    expect(forceKeyframesExpression([])).toBe("expr:eq(n,0)");
  });

  it("forces exactly the segment starts and nowhere else, uneven ones included", () => {
    // Segments of 122 frames after an even split of 366: IDRs at 0, 122, 244 only.
    expect(forcedFrames(forceKeyframesExpression([0, 122, 244]), 366)).toEqual([0, 122, 244]);
    expect(forcedFrames(forceKeyframesExpression([0, 119, 239]), 358)).toEqual([0, 119, 239]);
    expect(forcedFrames(forceKeyframesExpression([0, 120]), 240)).toEqual([0, 120]);
    // 29.97 fps / 24 fps grids.
    expect(forcedFrames(forceKeyframesExpression([0, 96, 192, 288]), 400)).toEqual([0, 96, 192, 288]);
    expect(forcedFrames(forceKeyframesExpression([0]), 126)).toEqual([0]);
    expect(forcedFrames(forceKeyframesExpression([0]), 1)).toEqual([0]);
  });

  it("the evaluator itself catches a wrong expression", () => {
    expect(forcedFrames("expr:not(mod(n,120))", 366)).toEqual([0, 120, 240, 360]);
    expect(() => evaluate("expr:gte(n,1)", 0)).toThrow("unknown function gte");
  });
});

describe("transcodeChunkArgs", () => {
  it("decodes once, splits into one scaled branch per rendition", () => {
    const args = transcodeChunkArgs(CHUNK);
    expect(args.slice(0, args.indexOf("-filter_complex") + 2)).toEqual([
      "-v", "info", "-hide_banner", "-nostats", "-nostdin", "-y",
      "-threads", "1",
      "-ss", "0.500000",
      "-protocol_whitelist", "file", "-format_whitelist", "matroska", "-noautorotate",
      "-i", "/tmp/w/chunk.mkv",
      "-filter_complex_threads", "1",
      "-filter_complex",
      "[0:v:0]yadif=mode=0:parity=-1:deint=1,fps=30/1,tpad=stop_mode=clone:stop_duration=1,split=3[sv0][sv1][sv2];" +
        "[sv0]scale=1280:720:flags=bicubic:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v0];" +
        "[sv1]scale=854:480:flags=bicubic:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v1];" +
        "[sv2]scale=640:360:flags=bicubic:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v2]",
    ]);
  });

  it("converts a full-range source to limited range, leaving the scaler to read the frames' range", () => {
    const args = transcodeChunkArgs({ ...CHUNK, filters: { ...CHUNK.filters, fullRange: true }, outputs: outputsFor(RENDITIONS.slice(2)) });
    expect(args[args.indexOf("-filter_complex") + 1]).toBe(
      "[0:v:0]yadif=mode=0:parity=-1:deint=1,fps=30/1,tpad=stop_mode=clone:stop_duration=1[sv0];" +
        "[sv0]scale=640:360:flags=bicubic:out_range=tv,setsar=1,format=yuv420p[v0]",
    );
  });

  it("repeats every codec option once PER OUTPUT (options written once would apply to the next output only)", () => {
    const args = transcodeChunkArgs(CHUNK);
    const graphEnd = args.indexOf("-filter_complex") + 2;
    // An output's options are everything between the previous output file and its own file name.
    const outputFiles = CHUNK.outputs.map((o) => o.playlistPath);
    const blocks: string[][] = [];
    let from = graphEnd;
    for (const file of outputFiles) {
      const end = args.indexOf(file, from);
      expect(end, file).toBeGreaterThan(from);
      blocks.push(args.slice(from, end));
      from = end + 1;
    }
    expect(from).toBe(args.length);

    const codecOptions = ["-map", "-c:v", "-ssim", "-flags", "-preset", "-profile:v", "-b:v", "-maxrate", "-bufsize", "-force_key_frames", "-g", "-sc_threshold", "-frames:v", "-output_ts_offset", "-hls_segment_filename"];
    const valuesPerOutput = blocks.map((block) =>
      Object.fromEntries(codecOptions.map((option) => {
        const where = block.flatMap((token, i) => (token === option ? [i] : []));
        expect(where, `${option} once in one output`).toHaveLength(1);
        return [option, block[where[0]! + 1]];
      })),
    );
    const common = {
      "-c:v": "libx264", "-ssim": "1", "-flags": "+psnr", "-preset": "veryfast", "-force_key_frames": "expr:eq(n,0)+eq(n,120)+eq(n,240)", "-g": "240",
      "-sc_threshold": "0", "-frames:v": "360", "-output_ts_offset": "22.000000",
    };
    expect(valuesPerOutput).toEqual([
      { ...common, "-map": "[v0]", "-profile:v": "high", "-b:v": "2800k", "-maxrate": "3080k", "-bufsize": "5600k", "-hls_segment_filename": "/tmp/w/720p/seg-%05d.ts" },
      { ...common, "-map": "[v1]", "-profile:v": "main", "-b:v": "1400k", "-maxrate": "1540k", "-bufsize": "2800k", "-hls_segment_filename": "/tmp/w/480p/seg-%05d.ts" },
      { ...common, "-map": "[v2]", "-profile:v": "main", "-b:v": "800k", "-maxrate": "880k", "-bufsize": "1600k", "-hls_segment_filename": "/tmp/w/360p/seg-%05d.ts" },
    ]);
    for (const option of codecOptions) expect(args.filter((token) => token === option), option).toHaveLength(3);
  });

  it("writes one output's HLS options in full", () => {
    const args = transcodeChunkArgs({ ...CHUNK, outputs: outputsFor(RENDITIONS.slice(2)) });
    expect(args).toEqual([
      "-v", "info", "-hide_banner", "-nostats", "-nostdin", "-y",
      "-threads", "1",
      "-ss", "0.500000",
      "-protocol_whitelist", "file", "-format_whitelist", "matroska", "-noautorotate",
      "-i", "/tmp/w/chunk.mkv",
      "-filter_complex_threads", "1",
      "-filter_complex",
      "[0:v:0]yadif=mode=0:parity=-1:deint=1,fps=30/1,tpad=stop_mode=clone:stop_duration=1[sv0];" +
        "[sv0]scale=640:360:flags=bicubic:in_range=tv:out_range=tv,setsar=1,format=yuv420p[v0]",
      "-map", "[v0]",
      "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
      "-b:v", "800k", "-maxrate", "880k", "-bufsize", "1600k",
      "-g", "240", "-keyint_min", "1", "-sc_threshold", "0",
      "-force_key_frames", "expr:eq(n,0)+eq(n,120)+eq(n,240)",
      "-threads", "1",
      "-ssim", "1", "-flags", "+psnr",
      "-frames:v", "360",
      "-output_ts_offset", "22.000000",
      "-map_metadata", "-1",
      "-f", "hls", "-hls_time", "0.1", "-hls_list_size", "0", "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts",
      "-start_number", "3",
      "-hls_segment_filename", "/tmp/w/360p/seg-%05d.ts",
      "/tmp/w/360p/ffmpeg.m3u8",
    ]);
  });

  it("turns the picture by the filters, never by ffmpeg's autorotate (a chunk has no display matrix)", () => {
    const graph = (rotation: 0 | 90 | 180 | 270) => {
      const args = transcodeChunkArgs({ ...CHUNK, filters: { ...CHUNK.filters, rotation } });
      expect(args.indexOf("-noautorotate")).toBe(args.indexOf("-i") - 1);
      return args[args.indexOf("-filter_complex") + 1]!;
    };
    expect(graph(0)).toMatch(/^\[0:v:0\]yadif=[^,]+,fps=/);
    expect(graph(90)).toMatch(/^\[0:v:0\]yadif=[^,]+,transpose=clock,fps=/);
    expect(graph(180)).toMatch(/^\[0:v:0\]yadif=[^,]+,hflip,vflip,fps=/);
    expect(graph(270)).toMatch(/^\[0:v:0\]yadif=[^,]+,transpose=cclock,fps=/);
  });

  it("reads the upload itself by its video track's index for the lead rung", () => {
    const args = transcodeChunkArgs({ ...CHUNK, fromSource: { streamIndex: 2 }, playlistType: "event" });
    expect(args[args.indexOf("-filter_complex") + 1]).toMatch(/^\[0:2\]yadif/);
    expect(args[args.indexOf("-format_whitelist") + 1]).not.toBe("matroska");
    expect(args[args.indexOf("-hls_playlist_type") + 1]).toBe("event");
  });

  it("tone-maps HDR before the fps filter and clamps a negative seek to 0", () => {
    const args = transcodeChunkArgs({
      ...CHUNK, seekSeconds: -0.001, frameCount: 1, keyframeOffsets: [0],
      filters: { frameRate: { num: 30000, den: 1001 }, toneMap: "hlg", fullRange: false }, outputs: outputsFor(RENDITIONS.slice(0, 1)),
    });
    expect(args[args.indexOf("-ss") + 1]).toBe("0.000000");
    expect(args[args.indexOf("-filter_complex") + 1]).toBe(
      "[0:v:0]yadif=mode=0:parity=-1:deint=1,zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709," +
        "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,fps=30000/1001,tpad=stop_mode=clone:stop_duration=1[sv0];" +
        "[sv0]scale=1280:720:flags=bicubic:out_range=tv,setsar=1,format=yuv420p[v0]",
    );
    expect(args[args.indexOf("-force_key_frames") + 1]).toBe("expr:eq(n,0)");
    expect(args[args.indexOf("-g") + 1]).toBe("2");
  });
});

describe("every ffmpeg run on the upload or on what was cut from it", () => {
  /** The protocol and format allow-lists, as given before the (only) input. */
  const allowLists = (args: string[]) => {
    const input = args.indexOf("-i");
    const before = args.slice(0, input);
    const value = (option: string) => (before.includes(option) ? before[before.indexOf(option) + 1] : undefined);
    return { inputs: args.filter((arg) => arg === "-i").length, protocols: value("-protocol_whitelist"), formats: value("-format_whitelist") };
  };

  it("reads local files only, and only the demuxers it expects", () => {
    const upload = { inputs: 1, protocols: "file", formats: WHITELIST };
    expect(allowLists(splitArgs({ input: "/w/source", output: "/w/c.mkv", streamIndex: 0 }))).toEqual(upload);
    expect(allowLists(decodedSplitArgs({ input: "/w/source", output: "/w/c.mkv", streamIndex: 0, startTime: 4 }))).toEqual(upload);
    expect(allowLists(remuxForProbeArgs("/w/source", "/w/probe.mkv"))).toEqual(upload);
    expect(allowLists(audioArgs({
      input: "/w/source", streamIndex: 1, videoStartTime: 0, durationSeconds: 10, segmentSeconds: 4,
      playlistPath: "/w/a.m3u8", segmentPattern: "/w/a-%05d.ts", threads: 1,
    }))).toEqual(upload);
    expect(allowLists(extractionArgs(
      { ffmpegPath: "ffmpeg", inputPath: "/w/source", videoStreamIndex: 0 },
      { candidateTimes: [1], posterSize: { width: 320, height: 180 }, interval: 1, tileCount: 2, tileSize: { width: 160, height: 90 } },
      { candidates: ["/w/c0.rgb"], firstFrame: "/w/first.rgb", tiles: "/w/tiles.rgb" },
    ))).toEqual(upload);
    // A chunk is the upload's bytes too, and split only ever writes Matroska.
    expect(allowLists(transcodeChunkArgs(CHUNK))).toEqual({ inputs: 1, protocols: "file", formats: "matroska" });
  });
});
