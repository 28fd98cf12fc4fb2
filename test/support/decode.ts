import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface DecodedTimeline {
  frames: number;
  /** From the first frame's start to the last frame's end, in seconds (last frame: the median step). */
  duration: number;
}

/**
 * Decodes one video stream with ffmpeg and measures what a viewer gets, from the presentation time
 * of every decoded frame (showinfo). `input` may be a media file or one of our media playlists.
 * ffmpeg, not ffprobe: the npm-bundled ffprobe crashes on MPEG-TS, and this must run there too.
 */
export async function decodedTimeline(ffmpeg: string, input: string, stream: string, singleFrameSeconds: number): Promise<DecodedTimeline> {
  const { stderr } = await run(
    ffmpeg,
    ["-v", "info", "-nostats", "-nostdin", "-protocol_whitelist", "file", "-i", input, "-map", `0:${stream}`, "-vf", "showinfo", "-f", "null", "-"],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const times = [...stderr.matchAll(/\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/g)].map((match) => Number(match[1])).sort((a, b) => a - b);
  if (times.length === 0) return { frames: 0, duration: 0 };
  const steps = times.slice(1).map((time, i) => time - times[i]!).sort((a, b) => a - b);
  const step = steps.length ? steps[Math.floor(steps.length / 2)]! : singleFrameSeconds;
  return { frames: times.length, duration: times[times.length - 1]! - times[0]! + step };
}

/** ffmpeg's one-line description of an input's first video stream, e.g. "h264 (Main) …, yuv420p(tv, bt709), 640x360 …". */
export async function videoStreamDescription(ffmpeg: string, input: string): Promise<string> {
  // ffmpeg with only an input exits 1 ("At least one output file must be specified").
  const stderr = await run(ffmpeg, ["-hide_banner", "-nostdin", "-protocol_whitelist", "file", "-i", input]).then(
    (result) => result.stderr,
    (error: { stderr?: string }) => error.stderr ?? "",
  );
  const line = stderr.split("\n").find((text) => /Stream #\d+:\d+.*: Video: /.test(text));
  if (!line) throw new Error(`no video stream in ${input}`);
  return line.slice(line.indexOf("Video: ") + 7);
}
