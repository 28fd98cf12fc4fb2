import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface DecodedTimeline {
  frames: number;
  /** From the first frame's start to the last frame's end, in seconds. */
  duration: number;
}

/**
 * Decodes a stream with ffprobe (frame level, not packet level) and measures what a viewer gets.
 * `input` may be a media file or one of our own media playlists.
 */
export async function decodedTimeline(ffprobe: string, input: string, stream: string): Promise<DecodedTimeline> {
  const { stdout } = await run(
    ffprobe,
    ["-v", "error", "-protocol_whitelist", "file", "-select_streams", stream, "-show_entries", "frame=pts_time,duration_time,pkt_duration_time", "-of", "csv=p=0", input],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  let first = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  let frames = 0;
  let lastDuration = 0;
  for (const line of stdout.split("\n")) {
    const [ptsText, ...durations] = line.trim().split(",");
    const pts = Number(ptsText);
    if (!ptsText || !Number.isFinite(pts)) continue;
    const duration = durations.map(Number).find((value) => Number.isFinite(value) && value > 0) ?? lastDuration;
    lastDuration = duration;
    frames += 1;
    first = Math.min(first, pts);
    end = Math.max(end, pts + duration);
  }
  return { frames, duration: frames ? end - first : 0 };
}
