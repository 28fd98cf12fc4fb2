import { AUDIO_RENDITION } from "./ladder-table.ts";
import type { Rendition } from "./ladder.ts";
import type { Rational } from "./frame-rate.ts";
import { chunkInputOptions, safeInputOptions } from "./probe.ts";

/**
 * Where the output timeline starts, in seconds. Every chunk and the audio are shifted by the same
 * amount so that no encoder delay (x264's B-frame reordering, AAC priming) ever produces a negative
 * timestamp: the MPEG-TS muxer would then shift that one output on its own (chunk 0, never the
 * others) and the joins would overlap. Players start from the first timestamp, whatever it is.
 */
export const TIMELINE_OFFSET_SECONDS = 10;

/** Seconds as ffmpeg reads them, without float noise like 2.0000000000000004. */
export function seconds(value: number): string {
  return (Math.round(value * 1e6) / 1e6).toFixed(6);
}

export interface SplitArgs {
  input: string;
  output: string;
  streamIndex: number;
  /** The source keyframe the chunk starts at (0 = file start); undefined: the first one. */
  keyframeTime?: number;
  /** How much to copy after the keyframe; omitted: to the end. */
  durationSeconds?: number;
}

/**
 * One chunk of the video stream, stream-copied (no re-encode) from a source keyframe. Only the
 * chosen video track is kept; audio is encoded once from the source by the audio service.
 */
export function splitArgs(args: SplitArgs): string[] {
  return [
    "-v", "error", "-nostdin", "-y",
    ...safeInputOptions(),
    // Just past the keyframe, so float rounding can never make ffmpeg seek to the one before.
    // The first chunk never seeks: some files (FLV without an index) cannot seek at all.
    ...(args.keyframeTime === undefined ? [] : ["-ss", seconds(args.keyframeTime + 0.001)]),
    // Packets with only a decode timestamp (AVI with B-frames, MPEG program streams, raw MPEG-2
    // and MPEG-4 video) get a presentation time; Matroska cannot store a packet without one.
    "-fflags", "+genpts",
    "-i", args.input,
    "-map", `0:${args.streamIndex}`,
    "-c", "copy", "-an", "-sn", "-dn",
    "-map_metadata", "-1", "-map_chapters", "-1",
    "-fflags", "+bitexact",
    ...(args.durationSeconds === undefined ? [] : ["-t", seconds(args.durationSeconds)]),
    "-f", "matroska",
    args.output,
  ];
}

export interface DecodedSplitArgs {
  input: string;
  output: string;
  streamIndex: number;
  /** Where the chunk starts on the input's timeline; undefined: at its first frame, without seeking. */
  startTime?: number;
  /** How much to keep; omitted: to the end. */
  durationSeconds?: number;
}

/**
 * One chunk cut by decoding, for a source stream copy cannot cut (no timestamps to write, or a
 * copied chunk that does not decode): the frames re-encoded losslessly (x264 qp 0, every frame
 * kept with its time), so the renditions come out as they would from the source itself.
 */
export function decodedSplitArgs(args: DecodedSplitArgs): string[] {
  return [
    "-v", "error", "-nostdin", "-y",
    ...safeInputOptions(),
    // The frames keep their coded orientation, as a stream-copied chunk's do: transcode turns them.
    "-noautorotate",
    "-i", args.input,
    "-map", `0:${args.streamIndex}`,
    // Decoded from the start and dropped up to the cut: seeking is what fails on such files (in
    // an MPEG program stream it lands seconds late), and this path exists for when all else fails.
    ...(args.startTime === undefined ? [] : ["-ss", seconds(args.startTime)]),
    "-an", "-sn", "-dn",
    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
    "-vsync", "passthrough",
    "-map_metadata", "-1", "-map_chapters", "-1",
    "-fflags", "+bitexact",
    ...(args.durationSeconds === undefined ? [] : ["-t", seconds(args.durationSeconds)]),
    "-f", "matroska",
    args.output,
  ];
}

/** HDR (PQ or HLG, 10-bit) to SDR BT.709: linearise, tone-map (hable), back to BT.709 limited range. */
export const TONE_MAP_TO_SDR: readonly string[] = Object.freeze([
  "zscale=t=linear:npl=100",
  "format=gbrpf32le",
  "zscale=p=bt709",
  "tonemap=tonemap=hable:desat=0",
  "zscale=t=bt709:m=bt709:r=tv",
]);

export interface VideoFilterOptions {
  frameRate: Rational;
  /**
   * Clockwise turn the source asks for on display (a phone's display matrix). Applied by the
   * filters, never by ffmpeg's autorotate: a chunk stream-copied into Matroska loses the matrix
   * (ffmpeg before 7 does not write it there) while the upload keeps it, and both must come out
   * alike.
   */
  rotation?: 0 | 90 | 180 | 270;
  toneMap: "pq" | "hlg" | null;
  /** The source is full range (yuvj, or flagged pc): the renditions convert it to limited range. */
  fullRange: boolean;
}

/**
 * The scaler's range options. Output is always limited (tv) range. A limited-range source says so
 * too (it is what the scaler assumes of it anyway): with input and output alike, a rendition of
 * the source's own size and format passes through instead of being copied frame by frame (about
 * 1.5 ms per 1080p frame, 4-5 CPU-s per minute of 1080p50). Tone-mapped frames are left to the
 * scaler to read.
 */
export function scaleRangeOptions(filters: Pick<VideoFilterOptions, "fullRange" | "toneMap">): string {
  return filters.fullRange || filters.toneMap ? "out_range=tv" : "in_range=tv:out_range=tv";
}

/** What ffmpeg's own autorotate would insert for each clockwise turn. */
const ROTATION_FILTERS: Readonly<Record<0 | 90 | 180 | 270, readonly string[]>> = {
  0: [],
  90: ["transpose=clock"],
  180: ["hflip", "vflip"],
  270: ["transpose=cclock"],
};

/** Filters applied once per decoded frame, before the split into renditions. */
export function sharedVideoFilters(options: VideoFilterOptions): string[] {
  const filters = [
    // Deinterlaces only frames flagged interlaced (DV, broadcast); progressive frames pass through.
    // Before any turn: the fields are rows of the picture as coded.
    "yadif=mode=0:parity=-1:deint=1",
    ...ROTATION_FILTERS[options.rotation ?? 0],
  ];
  if (options.toneMap) filters.push(...TONE_MAP_TO_SDR);
  filters.push(
    `fps=${options.frameRate.num}/${options.frameRate.den}`,
    // Headers and timestamps can promise a frame more than the stream delivers (millisecond FLV
    // timestamps): repeat the last frame so every encode has exactly the planned frame count.
    "tpad=stop_mode=clone:stop_duration=1",
  );
  return filters;
}

export interface RenditionOutput {
  rendition: Rendition;
  /** ffmpeg's own playlist for this chunk (read back for segment durations, then discarded). */
  playlistPath: string;
  /** printf-style, e.g. /tmp/x/720p/seg-%05d.ts */
  segmentPattern: string;
}

export interface TranscodeChunkArgs {
  input: string;
  /** Where the chunk's first output frame sits inside the chunk file (seconds from its start). */
  seekSeconds: number;
  frameCount: number;
  /** Output timeline offset: the chunk's start time in the video, so timestamps run on across chunks. */
  startTime: number;
  firstSegment: number;
  keyframeOffsets: readonly number[];
  filters: VideoFilterOptions;
  preset: string;
  threads: number;
  outputs: readonly RenditionOutput[];
  /**
   * Read the upload itself rather than a chunk cut from it (the lead rung, the bench's single
   * command): the upload's input options, and its video track by index.
   */
  fromSource?: { streamIndex: number };
  /**
   * ffmpeg's own playlist: `vod` is written once, at the end; `event` after every segment (to a
   * temp file renamed into place), so a watcher can upload each segment as soon as it is listed.
   */
  playlistType?: "vod" | "event";
}

/** The keyframe expression: an IDR at every segment start of this chunk (frame offsets), and nowhere else. */
export function forceKeyframesExpression(keyframeOffsets: readonly number[]): string {
  const offsets = keyframeOffsets.length ? keyframeOffsets : [0];
  return `expr:${offsets.map((offset) => `eq(n,${offset})`).join("+")}`;
}

/** Decode a chunk once, encode every rendition: codec options are repeated for each output. */
export function transcodeChunkArgs(args: TranscodeChunkArgs): string[] {
  const labels = args.outputs.map((_, i) => `v${i}`);
  const split = args.outputs.length > 1 ? `,split=${args.outputs.length}${labels.map((l) => `[s${l}]`).join("")}` : "[sv0]";
  const graph = [
    `[${args.fromSource ? `0:${args.fromSource.streamIndex}` : "0:v:0"}]${sharedVideoFilters(args.filters).join(",")}${split}`,
    ...args.outputs.map(
      ({ rendition }, i) =>
        `[s${labels[i]}]scale=${rendition.width}:${rendition.height}:flags=bicubic:${scaleRangeOptions(args.filters)},setsar=1,format=yuv420p[${labels[i]}]`,
    ),
  ].join(";");
  const gop = (args.keyframeOffsets[1] ?? args.frameCount) * 2;
  const result = [
    // info, not error: libx264 reports each output's PSNR and SSIM at that level when it closes
    // (parsed by encoder-quality.ts); no banner and no status line keep the rest of stderr short.
    "-v", "info", "-hide_banner", "-nostats", "-nostdin", "-y",
    "-threads", String(args.threads),
    "-ss", seconds(Math.max(0, args.seekSeconds)),
    ...(args.fromSource ? safeInputOptions() : chunkInputOptions()),
    // The turn is the filters' (sharedVideoFilters), whatever the input says.
    "-noautorotate",
    "-i", args.input,
    // The filter graph (yadif, the scalers) would otherwise start a thread per core of its own.
    "-filter_complex_threads", String(args.threads),
    "-filter_complex", graph,
  ];
  args.outputs.forEach(({ rendition, playlistPath, segmentPattern }, i) => {
    result.push(
      "-map", `[${labels[i]}]`,
      "-c:v", "libx264",
      "-preset", args.preset,
      "-profile:v", rendition.profile,
      "-b:v", `${rendition.videoKbps}k`,
      "-maxrate", `${rendition.maxrateKbps}k`,
      "-bufsize", `${rendition.bufsizeKbps}k`,
      "-g", String(Math.max(2, gop)),
      "-keyint_min", "1",
      "-sc_threshold", "0",
      "-force_key_frames", forceKeyframesExpression(args.keyframeOffsets),
      "-threads", String(args.threads),
      // Quality against the scaled source, measured by the encoder while it encodes (about 1% of
      // its CPU); the bitstream is the same with or without.
      "-ssim", "1", "-flags", "+psnr",
      // Tone-mapped output is SDR BT.709: say so in the stream, not only in the pixels.
      ...(args.filters.toneMap ? ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"] : []),
      "-frames:v", String(args.frameCount),
      "-output_ts_offset", seconds(TIMELINE_OFFSET_SECONDS + args.startTime),
      "-map_metadata", "-1",
      "-f", "hls",
      // Shorter than any segment, so the muxer cuts at every (forced) keyframe and nowhere else.
      "-hls_time", "0.1",
      "-hls_list_size", "0",
      "-hls_playlist_type", args.playlistType ?? "vod",
      "-hls_segment_type", "mpegts",
      "-start_number", String(args.firstSegment),
      "-hls_segment_filename", segmentPattern,
      playlistPath,
    );
  });
  return result;
}

const AAC_FRAME_SECONDS = 1024 / AUDIO_RENDITION.sampleRate;

export interface AudioArgs {
  input: string;
  streamIndex: number;
  /** Where the video starts in the source: audio is aligned to it. */
  videoStartTime: number;
  durationSeconds: number;
  segmentSeconds: number;
  playlistPath: string;
  segmentPattern: string;
  threads: number;
}

/**
 * The whole audio track, once (per-chunk AAC drifts and clicks at joins): AAC-LC stereo 48 kHz,
 * aligned to the first video frame, padded or cut to exactly the video's length.
 */
export function audioArgs(args: AudioArgs): string[] {
  return [
    "-v", "error", "-nostdin", "-y",
    "-threads", String(args.threads),
    ...safeInputOptions(),
    ...(args.videoStartTime > 0 ? ["-ss", seconds(args.videoStartTime)] : []),
    "-i", args.input,
    "-map", `0:${args.streamIndex}`,
    "-vn", "-sn", "-dn",
    "-af", `aresample=${AUDIO_RENDITION.sampleRate}:async=1:first_pts=0,apad`,
    "-c:a", "aac",
    "-b:a", `${AUDIO_RENDITION.kbps}k`,
    "-ac", String(AUDIO_RENDITION.channels),
    "-ar", String(AUDIO_RENDITION.sampleRate),
    // The AAC encoder adds one priming frame that MPEG-TS keeps (no edit list), so ask for one
    // frame less: the decoded track then ends within one AAC frame of the video.
    "-t", seconds(Math.max(AAC_FRAME_SECONDS, args.durationSeconds - AAC_FRAME_SECONDS)),
    "-output_ts_offset", seconds(TIMELINE_OFFSET_SECONDS),
    "-map_metadata", "-1",
    "-f", "hls",
    "-hls_time", String(args.segmentSeconds),
    "-hls_list_size", "0",
    "-hls_playlist_type", "vod",
    "-hls_segment_type", "mpegts",
    "-hls_segment_filename", args.segmentPattern,
    args.playlistPath,
  ];
}
