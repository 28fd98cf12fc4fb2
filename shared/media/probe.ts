import { runProcess, type RunOptions } from "./run-process.ts";

/** What a probe passes on to runProcess. */
export type ProbeRunOptions = Pick<RunOptions, "logger" | "signal" | "deadlineSeconds" | "killGraceSeconds">;

/**
 * Demuxers vodpipe lets ffmpeg use on uploads. Anything else (hls, concat, image sequences, tty…)
 * is refused before ffmpeg can follow a URL or read another file named inside the upload.
 */
export const ALLOWED_DEMUXERS = [
  "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mpegts", "avi", "flv", "dv",
  "mpeg", "mpegvideo", "mp3", "ogg", "asf", "mxf", "wav", "aac", "m4v", "h264", "hevc",
] as const;

/** Input options for every ffmpeg/ffprobe run that reads an upload: local files only, known formats only. */
export function safeInputOptions(): string[] {
  return ["-protocol_whitelist", "file", "-format_whitelist", ALLOWED_DEMUXERS.join(",")];
}

/** Every stream stream-copied into Matroska with its original timestamps (for probing only). */
export function remuxForProbeArgs(input: string, output: string): string[] {
  return ["-v", "error", "-nostdin", "-y", ...safeInputOptions(), "-i", input, "-map", "0", "-c", "copy", "-copyts", "-f", "matroska", output];
}

export interface RawStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  field_order?: string;
  color_transfer?: string;
  color_range?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  start_time?: string;
  channels?: number;
  sample_rate?: string;
  bits_per_raw_sample?: string;
  disposition?: Record<string, number>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
  tags?: Record<string, string>;
}

export interface RawProbe {
  format?: { format_name?: string; duration?: string; start_time?: string; size?: string; nb_streams?: number };
  streams?: RawStream[];
}

/** ffprobe's view of the container and its streams (no packet reading). */
export async function probeContainer(
  ffprobe: string,
  path: string,
  options: ProbeRunOptions = {},
): Promise<RawProbe> {
  const { stdout } = await runProcess(
    ffprobe,
    ["-v", "error", ...safeInputOptions(), "-show_format", "-show_streams", "-of", "json", path],
    { ...options, task: "reading the file's format" },
  );
  return JSON.parse(stdout.toString("utf8")) as RawProbe;
}

export interface PacketTimeline {
  /** Presentation times (s, on the input timeline ffmpeg uses: 0 = the file's start) of every packet. */
  frameCount: number;
  firstPts: number;
  /** The presentation time of the last frame (in presentation order). */
  lastPts: number;
  /** Presentation times of keyframes, ascending. */
  keyframeTimes: number[];
  /**
   * False when no packet carries a timestamp, even regenerated (raw H.264/HEVC elementary
   * streams): frameCount is still the packet count, and the times are for the caller to derive.
   */
  timestamped: boolean;
}

/**
 * Reads the chosen video stream's packets (demux only, no decoding): frame count, real span and
 * keyframe positions, which container headers often get wrong (FLV, VFR phone video).
 */
export async function probeVideoPackets(
  ffprobe: string,
  path: string,
  streamIndex: number,
  formatStartTime: number,
  options: ProbeRunOptions = {},
): Promise<PacketTimeline> {
  return parsePacketCsv(await readVideoPacketsCsv(ffprobe, path, options), formatStartTime, streamIndex);
}

/**
 * Every video stream's packets as `stream_index,pts_time,duration_time,flags` lines: readable
 * before the container probe has said which stream is the video (ingest runs the two at once).
 */
export async function readVideoPacketsCsv(ffprobe: string, path: string, options: ProbeRunOptions = {}): Promise<string> {
  const { stdout } = await runProcess(
    ffprobe,
    [
      "-v", "error", ...safeInputOptions(),
      // Packets that carry only a decode timestamp (AVI with B-frames, MPEG program streams, raw
      // MPEG-2/MPEG-4 video) get their presentation time worked out, as the split does too.
      "-fflags", "+genpts",
      "-select_streams", "v",
      "-show_entries", "packet=stream_index,pts_time,duration_time,flags",
      "-of", "csv=p=0", path,
    ],
    { ...options, task: "reading the video's frames" },
  );
  return stdout.toString("utf8");
}

/**
 * Parses the `stream_index,pts_time,duration_time,flags` lines of readVideoPacketsCsv that belong
 * to `streamIndex`. Packets without a pts are skipped.
 */
export function parsePacketCsv(csv: string, formatStartTime: number, streamIndex: number): PacketTimeline {
  const keyframeTimes: number[] = [];
  let frameCount = 0;
  let untimedCount = 0;
  let firstPts = Number.POSITIVE_INFINITY;
  let lastPts = Number.NEGATIVE_INFINITY;
  for (const line of csv.split("\n")) {
    const [index, ptsText, , flags] = line.trim().split(",");
    if (index !== String(streamIndex)) continue;
    // D: a packet the container's edit list discards; it is never shown.
    if (flags?.includes("D")) continue;
    const pts = Number(ptsText);
    if (!ptsText || ptsText === "N/A" || !Number.isFinite(pts)) {
      untimedCount += 1;
      continue;
    }
    const time = pts - formatStartTime;
    frameCount += 1;
    firstPts = Math.min(firstPts, time);
    lastPts = Math.max(lastPts, time);
    if (flags?.includes("K")) keyframeTimes.push(time);
  }
  keyframeTimes.sort((a, b) => a - b);
  if (frameCount === 0) return { frameCount: untimedCount, firstPts: 0, lastPts: 0, keyframeTimes, timestamped: untimedCount === 0 };
  return { frameCount, firstPts, lastPts, keyframeTimes, timestamped: true };
}
