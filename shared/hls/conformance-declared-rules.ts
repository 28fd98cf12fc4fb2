/**
 * The rules that hold what the master playlist declares (BANDWIDTH, AVERAGE-BANDWIDTH, CODECS,
 * RESOLUTION, FRAME-RATE, the I-frame streams) against what the segments measure.
 */
import { measureBandwidth, type Bandwidth } from "./bandwidth.ts";
import { sameCodec } from "./h264-codec-string.ts";
import type { ParsedVariant } from "./parse-playlist.ts";
import {
  BANDWIDTH_TOLERANCE,
  collect,
  decodedSpan,
  fail,
  FRAME_RATE_TOLERANCE,
  measured,
  measuredRenditions,
  pass,
  seconds,
  TIMING_SLACK,
  type CheckResult,
  type Measured,
  type RuleId,
  type StreamUnderTest,
} from "./conformance-model.ts";

function measureRendition(rendition: Measured): Bandwidth {
  const sized = rendition.playlist.segments.map((segment, index) => ({
    duration: segment.duration,
    bytes: segment.byteRange?.length ?? rendition.facts[index]!.bytes,
  }));
  return measureBandwidth(sized, rendition.playlist.targetDuration === undefined ? {} : { targetDuration: rendition.playlist.targetDuration });
}

/** What a variant plays: its video rendition and, if it names an audio group, that group's renditions. */
function variantParts(stream: StreamUnderTest, variant: ParsedVariant): { video?: Measured; audio: Measured[]; audioComplete: boolean } {
  const video = stream.renditions.find((rendition) => rendition.name === variant.uri && rendition.kind === "video");
  const audioUris = (stream.master?.media ?? [])
    .filter((media) => media.type === "AUDIO" && media.groupId === variant.audio && media.uri !== undefined)
    .map((media) => media.uri!);
  const audioRenditions = stream.renditions.filter((rendition) => rendition.kind === "audio" && audioUris.includes(rendition.name));
  const audio = audioRenditions.map(measured).filter((rendition): rendition is Measured => rendition !== undefined);
  return { ...(video ? { video: measured(video) } : {}), audio, audioComplete: audio.length === audioUris.length };
}

/** Measured rates of the variant (video + the largest audio rendition of its group). */
export function measureVariant(stream: StreamUnderTest, variant: ParsedVariant): Bandwidth | undefined {
  const parts = variantParts(stream, variant);
  if (!parts.video || !parts.audioComplete) return undefined;
  const video = measureRendition(parts.video);
  const audio = parts.audio.map(measureRendition);
  return {
    peak: video.peak + Math.max(0, ...audio.map((rate) => rate.peak)),
    average: video.average + Math.max(0, ...audio.map((rate) => rate.average)),
  };
}

export function bandwidth(stream: StreamUnderTest, which: "peak" | "average"): CheckResult[] {
  const rule: RuleId = which === "peak" ? "bandwidth-peak" : "bandwidth-average";
  const attribute = which === "peak" ? "BANDWIDTH" : "AVERAGE-BANDWIDTH";
  return (stream.master?.variants ?? []).flatMap((variant) => {
    const rates = measureVariant(stream, variant);
    if (!rates) return [];
    const declared = which === "peak" ? variant.bandwidth : variant.averageBandwidth;
    const measuredRate = rates[which];
    if (declared === undefined) return [fail(rule, `${attribute} is missing (measured ${measuredRate} bit/s)`, variant.uri)];
    const off = declared === 0 ? Infinity : (measuredRate - declared) / declared;
    const detail = `${attribute} ${declared}, measured ${measuredRate} bit/s (${(off * 100).toFixed(1)}% of declared)`;
    return Math.abs(off) > BANDWIDTH_TOLERANCE ? [fail(rule, `${detail}, more than 10% off`, variant.uri)] : [pass(rule, detail, variant.uri)];
  });
}

const AUDIO_CODEC = /^(mp4a|ac-3|ec-3|ac-4|opus|flac|alac)\b/i;

function distinctCodecs(rendition: Measured): string[] {
  return [...new Set(rendition.facts.map((facts) => facts.codec ?? "unknown"))];
}

export function codecs(stream: StreamUnderTest): CheckResult[] {
  return (stream.master?.variants ?? []).flatMap((variant) => {
    const parts = variantParts(stream, variant);
    if (!parts.video) return [];
    const declared = variant.codecs ?? [];
    const failures: CheckResult[] = [];
    const declaredVideo = declared.filter((codec) => !AUDIO_CODEC.test(codec));
    const encodedVideo = distinctCodecs(parts.video);
    if (encodedVideo.length > 1) {
      failures.push(fail("codecs", `the segments were encoded with different profiles/levels: ${encodedVideo.join(", ")}`, variant.uri));
    }
    const encoded = encodedVideo[0]!;
    if (declaredVideo.length !== 1 || !sameCodec(declaredVideo[0]!, encoded)) {
      failures.push(fail("codecs", `CODECS declares video ${declaredVideo.join(",") || "none"}, the stream is ${encoded}`, variant.uri));
    }
    const declaredAudio = declared.filter((codec) => AUDIO_CODEC.test(codec));
    const encodedAudio = [...new Set(parts.audio.flatMap(distinctCodecs))];
    for (const codec of encodedAudio) {
      if (!declaredAudio.some((item) => sameCodec(item, codec))) {
        failures.push(fail("codecs", `the audio rendition is ${codec}, CODECS declares ${declaredAudio.join(",") || "no audio"}`, variant.uri));
      }
    }
    if (variant.audio === undefined && declaredAudio.length > 0) {
      failures.push(fail("codecs", `CODECS declares audio ${declaredAudio.join(",")} but the variant has no AUDIO group`, variant.uri));
    }
    return collect("codecs", failures, `CODECS "${declared.join(",")}" matches the encoded streams`, variant.uri);
  });
}

export function resolution(stream: StreamUnderTest): CheckResult[] {
  return (stream.master?.variants ?? []).flatMap((variant) => {
    const video = variantParts(stream, variant).video;
    if (!video) return [];
    const sizes = [...new Set(video.facts.map((facts) => `${facts.width ?? "?"}x${facts.height ?? "?"}`))];
    const declared = variant.resolution ? `${variant.resolution.width}x${variant.resolution.height}` : "missing";
    if (sizes.length !== 1 || sizes[0] !== declared) {
      return [fail("resolution", `RESOLUTION ${declared}, encoded ${sizes.join(", ")}`, variant.uri)];
    }
    return [pass("resolution", `RESOLUTION ${declared}`, variant.uri)];
  });
}

export function frameRate(stream: StreamUnderTest): CheckResult[] {
  return (stream.master?.variants ?? []).flatMap((variant) => {
    const video = variantParts(stream, variant).video;
    if (!video) return [];
    const frames = video.facts.reduce((sum, facts) => sum + facts.packets, 0);
    const span = decodedSpan(video);
    if (span <= 0) return [];
    const rate = frames / span;
    const declared = variant.frameRate;
    const detail = `FRAME-RATE ${declared ?? "missing"}, measured ${rate.toFixed(3)} (${frames} frames in ${seconds(span)})`;
    return declared === undefined || Math.abs(declared - rate) > rate * FRAME_RATE_TOLERANCE
      ? [fail("frame-rate", detail, variant.uri)]
      : [pass("frame-rate", detail, variant.uri)];
  });
}

export function iframePlaylists(stream: StreamUnderTest): CheckResult[] {
  const rule = "iframe-playlist";
  return stream.iframeStreams.flatMap((iframes) => {
    const playlist = iframes.playlist;
    if (!playlist) return [];
    const source = stream.renditions.find((rendition) => rendition.name === iframes.rendition);
    const video = source && measured(source);
    if (!video) return [fail(rule, "does not point into the segments of a measured video rendition", iframes.name)];
    const failures: CheckResult[] = [];
    if (!playlist.iFramesOnly) failures.push(fail(rule, "#EXT-X-I-FRAMES-ONLY is missing", iframes.name));
    if (playlist.segments.length !== video.facts.length) {
      failures.push(fail(rule, `${playlist.segments.length} I-frames for ${video.facts.length} segments of ${video.name}`, iframes.name));
    }
    playlist.segments.forEach((entry, index) => {
      const segmentIndex = iframes.segmentIndexes[index];
      if (segmentIndex !== index) {
        failures.push(fail(rule, `${entry.uri} is not segment ${index} of ${video.name}`, iframes.name, index));
        return;
      }
      const facts = video.facts[index]!;
      const extinf = video.playlist.segments[index]!.duration;
      if (Math.abs(entry.duration - extinf) > video.frameDuration + TIMING_SLACK) {
        failures.push(fail(rule, `EXTINF ${entry.duration}, the segment's is ${extinf}`, iframes.name, index));
      }
      const range = entry.byteRange;
      const frame = facts.iframe;
      if (!range) {
        failures.push(fail(rule, "no #EXT-X-BYTERANGE", iframes.name, index));
      } else if (range.offset + range.length > facts.bytes) {
        failures.push(fail(rule, `byte range ${range.length}@${range.offset} runs past the file's ${facts.bytes} bytes`, iframes.name, index));
      } else if (frame && (range.offset > frame.offset || range.offset + range.length < frame.offset + frame.length)) {
        failures.push(
          fail(rule, `byte range ${range.length}@${range.offset} does not cover the I-frame at ${frame.length}@${frame.offset}`, iframes.name, index),
        );
      }
    });

    const declared = stream.master?.iframeVariants.find((variant) => variant.uri === iframes.name);
    if (declared && failures.length === 0) {
      const rates = measureBandwidth(
        playlist.segments.map((entry) => ({ duration: entry.duration, bytes: entry.byteRange!.length })),
        playlist.targetDuration === undefined ? {} : { targetDuration: playlist.targetDuration },
      );
      const off = declared.bandwidth ? (rates.peak - declared.bandwidth) / declared.bandwidth : Infinity;
      if (Math.abs(off) > BANDWIDTH_TOLERANCE) {
        failures.push(fail(rule, `BANDWIDTH ${declared.bandwidth ?? "missing"}, measured ${rates.peak} bit/s, more than 10% off`, iframes.name));
      }
      const encoded = distinctCodecs(video)[0]!;
      if (declared.codecs?.length !== 1 || !sameCodec(declared.codecs[0]!, encoded)) {
        failures.push(fail(rule, `CODECS "${declared.codecs?.join(",") ?? ""}", the stream is ${encoded}`, iframes.name));
      }
      const size = `${video.facts[0]!.width}x${video.facts[0]!.height}`;
      const declaredSize = declared.resolution ? `${declared.resolution.width}x${declared.resolution.height}` : "missing";
      if (declaredSize !== size) failures.push(fail(rule, `RESOLUTION ${declaredSize}, encoded ${size}`, iframes.name));
    }
    return collect(rule, failures, `${playlist.segments.length} I-frames, one per segment of ${video.name}`, iframes.name);
  });
}
