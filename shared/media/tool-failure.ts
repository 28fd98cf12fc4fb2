/**
 * The one rule for a failed ffmpeg or ffprobe, in every stage: when its output says the input is
 * at fault (not a video, damaged, a codec or layout nothing here can read) the failure is
 * permanent (only messages ffmpeg prints when it gives up on its input: warnings about damaged
 * frames also appear in runs that fail for other reasons); a full disk is the machine's fault; anything else (a crash, a kill, an error that
 * says nothing about the input) is retried. Each verdict comes with a sentence for people.
 */
export type ToolFailureKind = "permanent" | "retryable" | "infrastructure";

export interface ToolExit {
  /** The tool's file name (`ffmpeg`, `ffprobe`). */
  tool: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** What the tool was doing, for the sentence: "cutting the video into chunks". */
  task?: string;
}

export interface ToolFailure {
  kind: ToolFailureKind;
  /** For people: no command line, no path. */
  reason: string;
}

/** stderr patterns that put the blame on the input, each with what to tell the uploader. */
const INPUT_FAULTS: ReadonlyArray<[RegExp, string]> = [
  [/Number of streams exceeds max_streams/i, "the file declares more than 1000 streams, far more than any video has"],
  // Damaged headers, as the hostile-input suite's mutated files show them.
  [/error reading header|Failed to read frame size|Invalid NAL unit size in extradata/i, "the file is damaged or not a video ffmpeg can read (its headers are broken); upload the original recording again"],
  [/moov atom not found/i, "the file is incomplete or not a video: its index (moov atom) is missing, as after an interrupted upload of a phone recording; upload the complete file"],
  [/not on whitelist|Unknown input format|Unknown format/i, "the file's format is not an accepted video container (MP4, MOV, WebM/MKV, MPEG-TS, AVI, FLV, DV, MPEG…)"],
  [/unknown timestamp|non monotonically increasing dts|Timestamps are unset/i, "the video's packets carry no usable timestamps, so it could not be cut into chunks; re-save it with a current encoder (for example as MP4)"],
  [/Decoder \(codec [^)]*\) not found|no decoder found|Decoding requested, but no decoder|Unsupported codec|Could not find tag for codec|codec not currently supported/i, "the video uses a codec vodpipe cannot read; convert it to H.264, HEVC, VP9 or another common codec"],
  [/does not contain any stream|matches no streams|Stream specifier .* matches no streams|Output file is empty/i, "the file holds no video that could be read"],
  [/Invalid data found when processing input|Invalid frame dimensions/i, "the file is damaged or not a video ffmpeg can read (invalid data); upload the original recording again"],
  [/could not find codec parameters/i, "the video's format could not be determined (its codec parameters are missing); upload the original recording"],
];

const DISK_FULL = /No space left on device|Disk quota exceeded/i;

export function classifyToolFailure(exit: ToolExit): ToolFailure {
  const task = exit.task ? ` while ${exit.task}` : "";
  if (DISK_FULL.test(exit.stderr)) {
    return { kind: "infrastructure", reason: `the processing server ran out of disk space${task}; vodpipe retries once there is room` };
  }
  if (exit.signal) {
    return { kind: "retryable", reason: `${exit.tool} stopped unexpectedly (${exit.signal})${task}; the logs have the details` };
  }
  for (const [pattern, reason] of INPUT_FAULTS) {
    if (pattern.test(exit.stderr)) return { kind: "permanent", reason };
  }
  return { kind: "retryable", reason: `${exit.tool} failed (exit code ${exit.code})${task} for a reason not traced to the file; the logs have the details` };
}
