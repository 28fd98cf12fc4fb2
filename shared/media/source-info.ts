import { InvalidMediaError } from "../errors.ts";
import { capFrameRate, chooseFrameRate, parseRational, toNumber, type Rational } from "./frame-rate.ts";
import type { PacketTimeline } from "./packet-listing.ts";
import type { RawProbe, RawStream } from "./probe.ts";

export interface VideoTrack {
  /** Absolute stream index in the file (for `-map 0:<index>`). */
  index: number;
  codec: string;
  codedWidth: number;
  codedHeight: number;
  /** Clockwise degrees the picture is turned for display: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** Size as displayed: sample aspect ratio applied, then rotation. */
  displayWidth: number;
  displayHeight: number;
  pixelFormat: string;
  hdr: "pq" | "hlg" | null;
  fullRange: boolean;
  frameCount: number;
  frameRate: Rational;
  /** On ffmpeg's input timeline (0 = the file's start). */
  startTime: number;
  durationSeconds: number;
  keyframeTimes: number[];
  /** The longest stretch without a keyframe, the end of the video included (seconds). */
  maxKeyframeGapSeconds: number;
  /**
   * False for a stream whose packets carry no timestamps at all (raw H.264/HEVC): its times are
   * counted from its frames at the stream's frame rate, and it is cut as one chunk.
   */
  timestamped: boolean;
}

export interface AudioTrack {
  index: number;
  codec: string;
  channels: number;
  sampleRate: number;
}

export interface SourceInfo {
  formatName: string;
  sizeBytes: number;
  streamCount: number;
  formatStartTime: number;
  video: VideoTrack;
  audio: AudioTrack | null;
  /** Length of the output: the video track's span. */
  durationSeconds: number;
}

export interface SourceLimits {
  maxDurationSeconds: number;
  maxFileBytes: number;
  maxWidth: number;
  maxHeight: number;
  maxStreams: number;
  /** Pixels in one frame as coded (before the sample aspect ratio stretches it). */
  maxPixels: number;
}

function num(text: string | number | undefined): number | undefined {
  const value = typeof text === "number" ? text : Number(text);
  return text === undefined || text === "N/A" || !Number.isFinite(value) ? undefined : value;
}

export function rotationOf(stream: RawStream): 0 | 90 | 180 | 270 {
  const fromSideData = stream.side_data_list?.find((entry) => typeof entry.rotation === "number")?.rotation;
  const raw = fromSideData ?? num(stream.tags?.rotate);
  if (raw === undefined) return 0;
  // ffprobe's display-matrix rotation is counter-clockwise; tags.rotate is clockwise.
  const clockwise = fromSideData !== undefined ? -raw : raw;
  const normalized = (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
  return normalized as 0 | 90 | 180 | 270;
}

export function displaySize(stream: RawStream, rotation: number): { width: number; height: number } {
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  const sar = parseRational(stream.sample_aspect_ratio?.replace(":", "/"));
  const sampleWidth = sar ? Math.round((width * sar.num) / sar.den) : width;
  return rotation === 90 || rotation === 270 ? { width: height, height: sampleWidth } : { width: sampleWidth, height };
}

function isRealVideo(stream: RawStream): boolean {
  return stream.codec_type === "video" && !stream.disposition?.attached_pic && (stream.width ?? 0) > 0 && (stream.height ?? 0) > 0;
}

/**
 * The video track to encode: the one with the most frames (a motion photo's second track is a
 * one-frame still, which ffmpeg's default choice picks), then the largest.
 */
export function chooseVideoStream(streams: readonly RawStream[]): RawStream | undefined {
  const score = (stream: RawStream) => {
    const frames = num(stream.nb_frames) ?? (num(stream.duration) ?? 0) * (toNumber(parseRational(stream.avg_frame_rate) ?? { num: 25, den: 1 }));
    return [frames, (stream.width ?? 0) * (stream.height ?? 0)] as const;
  };
  return streams.filter(isRealVideo).sort((a, b) => {
    const [fa, pa] = score(a);
    const [fb, pb] = score(b);
    return fb - fa || pb - pa || a.index - b.index;
  })[0];
}

export function chooseAudioStream(streams: readonly RawStream[]): RawStream | undefined {
  const audio = streams.filter((s) => s.codec_type === "audio" && (s.channels ?? 0) > 0);
  return audio.find((s) => s.disposition?.default) ?? audio[0];
}

/** Rejects an upload over the size limit (ingest checks this before downloading it). */
export function assertFileSize(sizeBytes: number, limits: Pick<SourceLimits, "maxFileBytes">): void {
  if (sizeBytes > limits.maxFileBytes) {
    throw new InvalidMediaError(`the file is ${sizeBytes} bytes; the limit is ${limits.maxFileBytes} bytes`);
  }
}

/** Checks that the container holds a usable video before any packet is read. */
export function assertUsableContainer(probe: RawProbe, sizeBytes: number, limits: SourceLimits): RawStream {
  const streams = probe.streams ?? [];
  if (streams.length === 0) {
    throw new InvalidMediaError("the file holds no audio or video tracks (an empty container); upload the recording itself");
  }
  if (streams.length > limits.maxStreams) {
    throw new InvalidMediaError(`the file has ${streams.length} streams; at most ${limits.maxStreams} are accepted`);
  }
  assertFileSize(sizeBytes, limits);
  const video = chooseVideoStream(streams);
  if (!video) {
    const hasAudio = streams.some((s) => s.codec_type === "audio");
    const hasCover = streams.some((s) => s.disposition?.attached_pic);
    throw new InvalidMediaError(
      hasAudio
        ? `the file has no video track, only audio${hasCover ? " and cover art" : ""}; vodpipe needs a video`
        : "the file has no video track",
    );
  }
  assertPictureSize(video, limits);
  // Twice the limit before the packets are read: a container's stated length can be an estimate
  // (MPEG-TS, MP3), and the packets give the real one; a file claiming far more is not read at all.
  const claimed = num(probe.format?.duration);
  if (claimed !== undefined && claimed > 2 * limits.maxDurationSeconds) {
    throw new InvalidMediaError(`the file says it lasts ${claimed.toFixed(1)} s; the limit is ${limits.maxDurationSeconds} s`);
  }
  return video;
}

/**
 * The picture as decoded (and as every filter holds it) must fit the limits, not only the picture
 * as displayed: a sample aspect ratio can squeeze a 16384-pixel-wide frame to a narrow display.
 * The coded size counts in either orientation (a portrait phone video is coded landscape).
 */
function assertPictureSize(video: RawStream, limits: Pick<SourceLimits, "maxWidth" | "maxHeight" | "maxPixels">): void {
  const { width, height } = displaySize(video, rotationOf(video));
  const largest = `${limits.maxWidth}x${limits.maxHeight}`;
  if (width > limits.maxWidth || height > limits.maxHeight) {
    throw new InvalidMediaError(`the video is ${width}x${height}; the largest accepted size is ${largest}`);
  }
  const codedWidth = Math.max(video.width ?? 0, video.coded_width ?? 0);
  const codedHeight = Math.max(video.height ?? 0, video.coded_height ?? 0);
  const [longSide, shortSide] = [Math.max(codedWidth, codedHeight), Math.min(codedWidth, codedHeight)];
  if (longSide > Math.max(limits.maxWidth, limits.maxHeight) || shortSide > Math.min(limits.maxWidth, limits.maxHeight)) {
    throw new InvalidMediaError(`the video's frames are ${codedWidth}x${codedHeight} pixels as stored; the largest accepted size is ${largest}`);
  }
  if (codedWidth * codedHeight > limits.maxPixels) {
    throw new InvalidMediaError(
      `the video's frames are ${codedWidth}x${codedHeight} pixels as stored, ${codedWidth * codedHeight} in all; at most ${limits.maxPixels} are accepted`,
    );
  }
}

/**
 * More frames a second, on average, than any camera records (high-speed phone video is stored at
 * its playback rate): a file like that only makes every later stage decode millions of frames.
 */
const MAX_AVERAGE_FRAME_RATE = 1000;

/** Combines the container probe and the video packet timeline into what the planner needs. */
export function describeSource(
  probe: RawProbe,
  videoStream: RawStream,
  timeline: PacketTimeline,
  sizeBytes: number,
  options: SourceLimits & { maxFrameRate: number },
): SourceInfo {
  let packets = timeline;
  if (packets.frameCount === 0) {
    throw new InvalidMediaError("the video track has no frames (zero duration)");
  }
  const headerRate = parseRational(videoStream.avg_frame_rate) ?? parseRational(videoStream.r_frame_rate);
  if (!packets.timestamped) packets = untimedTimeline(packets.frameCount, headerRate);
  const sourceRate = chooseFrameRate({
    frameCount: packets.frameCount,
    startSpanSeconds: packets.lastPts - packets.firstPts,
    headerRate,
    maxFrameRate: Number.POSITIVE_INFINITY,
  });
  const frameRate = capFrameRate(sourceRate, options.maxFrameRate);
  // N frames starting at firstPts..lastPts last (lastPts - firstPts) plus one frame.
  const durationSeconds = packets.lastPts - packets.firstPts + 1 / toNumber(sourceRate);
  if (durationSeconds > options.maxDurationSeconds) {
    throw new InvalidMediaError(
      `the video lasts ${durationSeconds.toFixed(1)} s; the limit is ${options.maxDurationSeconds} s`,
    );
  }
  if (packets.frameCount > MAX_AVERAGE_FRAME_RATE && packets.frameCount / durationSeconds > MAX_AVERAGE_FRAME_RATE) {
    throw new InvalidMediaError(
      `the video packs ${packets.frameCount} frames into ${durationSeconds.toFixed(1)} s, more than ${MAX_AVERAGE_FRAME_RATE} a second: it is damaged or not a real recording`,
    );
  }
  const rotation = rotationOf(videoStream);
  const display = displaySize(videoStream, rotation);
  const transfer = videoStream.color_transfer ?? "";
  const audioStream = chooseAudioStream(probe.streams ?? []);
  return {
    formatName: probe.format?.format_name ?? "unknown",
    sizeBytes,
    streamCount: probe.streams?.length ?? 0,
    formatStartTime: num(probe.format?.start_time) ?? 0,
    durationSeconds,
    video: {
      index: videoStream.index,
      codec: videoStream.codec_name ?? "unknown",
      codedWidth: videoStream.width ?? 0,
      codedHeight: videoStream.height ?? 0,
      rotation,
      displayWidth: display.width,
      displayHeight: display.height,
      pixelFormat: videoStream.pix_fmt ?? "unknown",
      hdr: transfer === "smpte2084" ? "pq" : transfer === "arib-std-b67" ? "hlg" : null,
      fullRange: (videoStream.pix_fmt ?? "").startsWith("yuvj") || videoStream.color_range === "pc",
      frameCount: packets.frameCount,
      frameRate,
      startTime: packets.firstPts,
      durationSeconds,
      keyframeTimes: packets.keyframeTimes,
      maxKeyframeGapSeconds: maxKeyframeGap(packets.keyframeTimes, packets.firstPts + durationSeconds),
      timestamped: packets.timestamped,
    },
    audio: audioStream
      ? {
          index: audioStream.index,
          codec: audioStream.codec_name ?? "unknown",
          channels: audioStream.channels ?? 2,
          sampleRate: num(audioStream.sample_rate) ?? 48_000,
        }
      : null,
  };
}

/**
 * A stream without timestamps plays its frames one after another at the rate its headers give
 * (ffmpeg's raw demuxers assume 25 fps when they give none): that is how ffmpeg will decode it.
 */
function untimedTimeline(frameCount: number, headerRate: Rational | undefined): PacketTimeline {
  const rate = headerRate && toNumber(headerRate) > 0 ? toNumber(headerRate) : 25;
  return { frameCount, firstPts: 0, lastPts: (frameCount - 1) / rate, keyframeTimes: [0], timestamped: false };
}

/** The longest time between consecutive keyframes, or from the last one to `end`. */
export function maxKeyframeGap(keyframeTimes: readonly number[], end: number): number {
  let widest = 0;
  keyframeTimes.forEach((time, i) => {
    widest = Math.max(widest, (keyframeTimes[i + 1] ?? end) - time);
  });
  return keyframeTimes.length ? widest : end;
}
