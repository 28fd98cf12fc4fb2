import { runProcess, type RunOptions } from "./run-process.ts";
import { classifyToolFailure, type ToolExit, type ToolFailure } from "./tool-failure.ts";

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

/**
 * Input options for a chunk: split writes every chunk as Matroska, so nothing else is read, and
 * a chunk is still the upload's bytes.
 */
export function chunkInputOptions(): string[] {
  return ["-protocol_whitelist", "file", "-format_whitelist", "matroska"];
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
  coded_width?: number;
  coded_height?: number;
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
    { ...options, task: "reading the file's format", classify: classifyProbeFailure },
  );
  return JSON.parse(stdout.toString("utf8")) as RawProbe;
}

/**
 * ffprobe on an upload reads nothing but that file: when it gives up with an error of its own
 * (not killed, not out of disk, not refusing its options), the file is at fault, whatever the
 * words (damaged files fail in more ways than any list of messages holds).
 */
export function classifyProbeFailure(exit: ToolExit): ToolFailure {
  const verdict = classifyToolFailure(exit);
  if (verdict.kind !== "retryable" || exit.signal || exit.code === null || /Unrecognized option|Option not found|Invalid option/i.test(exit.stderr)) {
    return verdict;
  }
  return { kind: "permanent", reason: "the file is damaged or not a video ffmpeg can read; upload the original recording again" };
}
