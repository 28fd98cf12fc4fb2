import { InvalidMediaError } from "../errors.ts";
import { classifyProbeFailure, safeInputOptions, type ProbeRunOptions } from "./probe.ts";
import { runProcess } from "./run-process.ts";

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

interface StreamTally {
  timed: number;
  untimed: number;
  firstPts: number;
  lastPts: number;
  keyframePts: number[];
}

/**
 * Sums up `stream_index,pts_time,duration_time,flags` lines (ffprobe's packet listing) per stream
 * as they come, so a listing is never held whole: what is kept grows with the keyframes only.
 */
export class PacketTally {
  readonly streams = new Map<number, StreamTally>();
  /** Every packet line counted, all streams together. */
  packets = 0;

  add(line: string): void {
    const [indexText, ptsText, , flags] = line.trim().split(",");
    if (!indexText) return;
    const index = Number(indexText);
    if (!Number.isInteger(index)) return;
    this.packets += 1;
    // D: a packet the container's edit list discards; it is never shown.
    if (flags?.includes("D")) return;
    let tally = this.streams.get(index);
    if (!tally) {
      tally = { timed: 0, untimed: 0, firstPts: Number.POSITIVE_INFINITY, lastPts: Number.NEGATIVE_INFINITY, keyframePts: [] };
      this.streams.set(index, tally);
    }
    const pts = Number(ptsText);
    if (!ptsText || ptsText === "N/A" || !Number.isFinite(pts)) {
      tally.untimed += 1;
      return;
    }
    tally.timed += 1;
    tally.firstPts = Math.min(tally.firstPts, pts);
    tally.lastPts = Math.max(tally.lastPts, pts);
    if (flags?.includes("K")) tally.keyframePts.push(pts);
  }

  /** One stream's packets on ffmpeg's input timeline (the format's start time subtracted). Packets without a pts are not counted when others have one. */
  timeline(streamIndex: number, formatStartTime: number): PacketTimeline {
    const tally = this.streams.get(streamIndex);
    if (!tally) return { frameCount: 0, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: true };
    if (tally.timed === 0) return { frameCount: tally.untimed, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: tally.untimed === 0 };
    return {
      frameCount: tally.timed,
      firstPts: tally.firstPts - formatStartTime,
      lastPts: tally.lastPts - formatStartTime,
      keyframeTimes: tally.keyframePts.map((pts) => pts - formatStartTime).sort((a, b) => a - b),
      timestamped: true,
    };
  }
}

/** Parses a whole listing at once (tests, and listings already in memory). */
export function parsePacketCsv(csv: string, formatStartTime: number, streamIndex: number): PacketTimeline {
  const tally = new PacketTally();
  for (const line of csv.split("\n")) tally.add(line);
  return tally.timeline(streamIndex, formatStartTime);
}

export interface ListingOptions extends ProbeRunOptions {
  /** More packets than this (all video streams together) and the file is rejected. */
  maxPackets: number;
}

/**
 * Reads every video stream's packets (demux only, no decoding): frame counts, real spans and
 * keyframe positions, which container headers often get wrong (FLV, VFR phone video). Readable
 * before the container probe has said which stream is the video (ingest runs the two at once).
 * Read as a stream: a small file can list millions of tiny packets; past `maxPackets` ffprobe is
 * stopped and the file rejected.
 */
export async function listVideoPackets(ffprobe: string, path: string, options: ListingOptions): Promise<PacketTally> {
  const { maxPackets, ...runOptions } = options;
  const tally = new PacketTally();
  const tooMany = new AbortController();
  let partial = "";
  const take = (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) tally.add(line);
    if (tally.packets > maxPackets && !tooMany.signal.aborted) tooMany.abort();
  };
  try {
    await runProcess(
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
      {
        ...runOptions,
        signal: runOptions.signal ? AbortSignal.any([runOptions.signal, tooMany.signal]) : tooMany.signal,
        task: "reading the video's frames",
        classify: classifyProbeFailure,
        onStdout: (chunk) => take(chunk.toString("latin1")),
      },
    );
  } catch (error) {
    if (tooMany.signal.aborted && !runOptions.signal?.aborted) throw tooManyPackets(maxPackets, error);
    throw error;
  }
  take("\n");
  if (tally.packets > maxPackets) throw tooManyPackets(maxPackets);
  return tally;
}

function tooManyPackets(maxPackets: number, cause?: unknown): InvalidMediaError {
  return new InvalidMediaError(
    `the file holds more than ${maxPackets} video frames (packets), more than the longest accepted video can have`,
    cause === undefined ? {} : { cause },
  );
}

/** The chosen video stream's packets; see listVideoPackets. */
export async function probeVideoPackets(
  ffprobe: string,
  path: string,
  streamIndex: number,
  formatStartTime: number,
  options: ListingOptions,
): Promise<PacketTimeline> {
  return (await listVideoPackets(ffprobe, path, options)).timeline(streamIndex, formatStartTime);
}
