/**
 * The HLS conformance rules: pure functions over parsed playlists and measured segment facts.
 * `vodpipe check` and the publish step run the same rules (through check-hls.ts).
 *
 * Tolerances, and why:
 * - "one frame" is the rendition's measured frame duration (video) or one AAC frame of 1024
 *   samples (audio), plus TIMING_SLACK for the 90 kHz clock and EXTINF's 6 decimals. A check
 *   fails when the difference is MORE than one frame, as the issue words it.
 * - Boundaries across video renditions may differ by at most half a frame: any more and the two
 *   renditions start a segment on different frames.
 * - Bit rates: Apple's HLS Authoring Spec 1.26/1.27 ask that the measured average be within 10% of
 *   AVERAGE-BANDWIDTH and the measured peak within 10% of BANDWIDTH. We read that literally and
 *   symmetrically: |declared - measured| <= 10% of declared. Under-declaring makes players stall
 *   on a variant they think fits; over-declaring makes them skip a variant that would have fitted.
 *   Peak is measured as in bandwidth.ts (RFC 8216bis windows of 0.5-1.5 target durations).
 */
import { measureBandwidth, type Bandwidth } from "./bandwidth.ts";
import { sameCodec } from "./h264-codec-string.ts";
import type { ParsedMasterPlaylist, ParsedMediaPlaylist, ParsedVariant } from "./parse-playlist.ts";
import type { SegmentFacts } from "./segment-facts.ts";

export const RULES = [
  "files-readable",
  "master-attributes",
  "playlist-type-vod",
  "endlist",
  "target-duration",
  "keyframe-start",
  "aligned-boundaries",
  "duration-matches-decoded",
  "segment-duration",
  "continuous-timestamps",
  "bandwidth-peak",
  "bandwidth-average",
  "codecs",
  "resolution",
  "frame-rate",
  "audio-duration",
  "iframe-playlist",
] as const;

export type RuleId = (typeof RULES)[number];

export interface CheckResult {
  rule: RuleId;
  ok: boolean;
  detail: string;
  /** The media playlist's URI as the master names it, e.g. "720p/index.m3u8". */
  rendition?: string;
  /** Index of the segment in its media playlist. */
  segment?: number;
}

export interface SegmentUnderTest {
  uri: string;
  facts?: SegmentFacts;
  /** Why there are no facts (missing file, ffmpeg could not read it, URI outside the stream). */
  error?: string;
}

export interface RenditionUnderTest {
  name: string;
  kind: "video" | "audio";
  playlist?: ParsedMediaPlaylist;
  /** Why the playlist could not be read or parsed. */
  error?: string;
  /** In playlist order, one per playlist segment. */
  segments: SegmentUnderTest[];
}

export interface IFrameStreamUnderTest {
  name: string;
  playlist?: ParsedMediaPlaylist;
  error?: string;
  /** The video rendition whose segment files this I-frame playlist points into. */
  rendition?: string;
  /** Per I-frame entry: the index of the rendition segment it points into (undefined: none). */
  segmentIndexes: (number | undefined)[];
}

export interface StreamUnderTest {
  /** Undefined when the checker was given a media playlist on its own. */
  master?: ParsedMasterPlaylist;
  renditions: RenditionUnderTest[];
  iframeStreams: IFrameStreamUnderTest[];
}

/** Rounding of the 90 kHz clock and of EXTINF's six decimals: 0.1 ms. */
export const TIMING_SLACK = 0.0001;
export const BANDWIDTH_TOLERANCE = 0.1;
export const FRAME_RATE_TOLERANCE = 0.02;

export function runConformanceRules(stream: StreamUnderTest): CheckResult[] {
  return [
    ...filesReadable(stream),
    ...masterAttributes(stream),
    ...playlistTypeVod(stream),
    ...endList(stream),
    ...targetDuration(stream),
    ...keyframeStart(stream),
    ...alignedBoundaries(stream),
    ...durationMatchesDecoded(stream),
    ...segmentDuration(stream),
    ...continuousTimestamps(stream),
    ...bandwidth(stream, "peak"),
    ...bandwidth(stream, "average"),
    ...codecs(stream),
    ...resolution(stream),
    ...frameRate(stream),
    ...audioDuration(stream),
    ...iframePlaylists(stream),
  ];
}

// ---------------------------------------------------------------------------------------------

/** A rendition whose playlist parsed and whose every segment was measured. */
interface Measured {
  name: string;
  kind: "video" | "audio";
  playlist: ParsedMediaPlaylist;
  facts: SegmentFacts[];
  frameDuration: number;
}

function measured(rendition: RenditionUnderTest): Measured | undefined {
  const { playlist } = rendition;
  if (!playlist || playlist.segments.length === 0) return undefined;
  if (rendition.segments.length !== playlist.segments.length) return undefined;
  const facts = rendition.segments.map((segment) => segment.facts);
  if (facts.some((fact) => fact === undefined)) return undefined;
  const known = facts as SegmentFacts[];
  return { name: rendition.name, kind: rendition.kind, playlist, facts: known, frameDuration: frameDurationOf(known) };
}

function frameDurationOf(facts: SegmentFacts[]): number {
  const counts = new Map<number, number>();
  for (const fact of facts) counts.set(fact.frameDuration, (counts.get(fact.frameDuration) ?? 0) + fact.packets);
  let best = 0;
  let bestCount = -1;
  for (const [duration, count] of counts) {
    if (count > bestCount) [best, bestCount] = [duration, count];
  }
  return best;
}

function measuredRenditions(stream: StreamUnderTest, kind: "video" | "audio"): Measured[] {
  return stream.renditions
    .filter((rendition) => rendition.kind === kind)
    .map(measured)
    .filter((rendition): rendition is Measured => rendition !== undefined);
}

function decodedSpan(rendition: Measured): number {
  return rendition.facts[rendition.facts.length - 1]!.endPts - rendition.facts[0]!.firstPts;
}

function extinfSum(playlist: ParsedMediaPlaylist): number {
  return playlist.segments.reduce((sum, segment) => sum + segment.duration, 0);
}

function pass(rule: RuleId, detail: string, rendition?: string): CheckResult {
  return rendition === undefined ? { rule, ok: true, detail } : { rule, ok: true, detail, rendition };
}

function fail(rule: RuleId, detail: string, rendition?: string, segment?: number): CheckResult {
  return {
    rule,
    ok: false,
    detail,
    ...(rendition === undefined ? {} : { rendition }),
    ...(segment === undefined ? {} : { segment }),
  };
}

/** Per-item failures, or one pass for the whole when there are none. */
function collect(rule: RuleId, failures: CheckResult[], passDetail: string, rendition?: string): CheckResult[] {
  return failures.length > 0 ? failures : [pass(rule, passDetail, rendition)];
}

const seconds = (value: number) => `${value.toFixed(6)} s`;
const ms = (value: number) => `${(value * 1000).toFixed(3)} ms`;

function mediaPlaylists(stream: StreamUnderTest): { name: string; playlist: ParsedMediaPlaylist }[] {
  const all = [...stream.renditions, ...stream.iframeStreams];
  return all.flatMap((item) => (item.playlist ? [{ name: item.name, playlist: item.playlist }] : []));
}

// ---------------------------------------------------------------------------------------------

function filesReadable(stream: StreamUnderTest): CheckResult[] {
  const failures: CheckResult[] = [];
  for (const item of [...stream.renditions, ...stream.iframeStreams]) {
    if (item.error || !item.playlist) failures.push(fail("files-readable", `playlist: ${item.error ?? "not read"}`, item.name));
  }
  for (const rendition of stream.renditions) {
    rendition.segments.forEach((segment, index) => {
      if (segment.error || !segment.facts) {
        failures.push(fail("files-readable", `${segment.uri}: ${segment.error ?? "not measured"}`, rendition.name, index));
      }
    });
    if (rendition.playlist && rendition.playlist.segments.length === 0) {
      failures.push(fail("files-readable", "the playlist lists no segments", rendition.name));
    }
  }
  if (stream.renditions.length === 0) failures.push(fail("files-readable", "no media playlists found"));
  return collect("files-readable", failures, "every playlist and segment was read");
}

function masterAttributes(stream: StreamUnderTest): CheckResult[] {
  const master = stream.master;
  if (!master) return [];
  const rule = "master-attributes";
  const failures: CheckResult[] = [];
  if (master.variants.length === 0) failures.push(fail(rule, "no #EXT-X-STREAM-INF variants"));
  if (!master.independentSegments) failures.push(fail(rule, "#EXT-X-INDEPENDENT-SEGMENTS is missing"));
  const audioGroups = new Set(master.media.filter((media) => media.type === "AUDIO").map((media) => media.groupId));
  for (const variant of master.variants) {
    const missing = ["BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE"].filter(
      (name) => variant.attributes[name] === undefined,
    );
    if (missing.length > 0) failures.push(fail(rule, `EXT-X-STREAM-INF lacks ${missing.join(", ")}`, variant.uri));
    if (variant.audio !== undefined && !audioGroups.has(variant.audio)) {
      failures.push(fail(rule, `AUDIO="${variant.audio}" names no EXT-X-MEDIA TYPE=AUDIO group`, variant.uri));
    }
  }
  for (const media of master.media.filter((item) => item.type === "AUDIO")) {
    const missing = ["GROUP-ID", "NAME", "URI", "CHANNELS"].filter((name) => media.attributes[name] === undefined);
    if (missing.length > 0) failures.push(fail(rule, `EXT-X-MEDIA TYPE=AUDIO lacks ${missing.join(", ")}`, media.uri));
  }
  for (const iframe of master.iframeVariants) {
    const missing = ["BANDWIDTH", "CODECS", "RESOLUTION", "URI"].filter((name) => iframe.attributes[name] === undefined);
    if (missing.length > 0) failures.push(fail(rule, `EXT-X-I-FRAME-STREAM-INF lacks ${missing.join(", ")}`, iframe.uri));
  }
  return collect(rule, failures, `${master.variants.length} variants with every required attribute`);
}

function playlistTypeVod(stream: StreamUnderTest): CheckResult[] {
  return mediaPlaylists(stream).map(({ name, playlist }) =>
    playlist.playlistType === "VOD"
      ? pass("playlist-type-vod", "#EXT-X-PLAYLIST-TYPE:VOD", name)
      : fail("playlist-type-vod", `#EXT-X-PLAYLIST-TYPE is ${playlist.playlistType ?? "missing"}, expected VOD`, name),
  );
}

function endList(stream: StreamUnderTest): CheckResult[] {
  return mediaPlaylists(stream).map(({ name, playlist }) =>
    playlist.endList ? pass("endlist", "#EXT-X-ENDLIST present", name) : fail("endlist", "#EXT-X-ENDLIST is missing", name),
  );
}

function targetDuration(stream: StreamUnderTest): CheckResult[] {
  return mediaPlaylists(stream).flatMap(({ name, playlist }) => {
    const target = playlist.targetDuration;
    if (target === undefined) return [fail("target-duration", "#EXT-X-TARGETDURATION is missing", name)];
    const failures = playlist.segments.flatMap((segment, index) =>
      Math.round(segment.duration) > target
        ? [fail("target-duration", `EXTINF ${segment.duration} rounds to more than the target duration ${target}`, name, index)]
        : [],
    );
    return collect("target-duration", failures, `every EXTINF rounds to at most ${target} s`, name);
  });
}

function keyframeStart(stream: StreamUnderTest): CheckResult[] {
  return stream.renditions
    .filter((rendition) => rendition.kind === "video")
    .flatMap((rendition) => {
      const failures: CheckResult[] = [];
      rendition.segments.forEach((segment, index) => {
        const facts = segment.facts;
        if (!facts) return;
        if (!facts.startsWithKeyframe) {
          failures.push(fail("keyframe-start", `${segment.uri} does not start with a keyframe`, rendition.name, index));
        } else if (facts.startsWithIdr === false) {
          failures.push(fail("keyframe-start", `${segment.uri} starts with a keyframe that is not an IDR`, rendition.name, index));
        }
      });
      return collect("keyframe-start", failures, `all ${rendition.segments.length} segments start with a keyframe`, rendition.name);
    });
}

function alignedBoundaries(stream: StreamUnderTest): CheckResult[] {
  const videos = measuredRenditions(stream, "video");
  const reference = videos[0];
  if (!reference) return [];
  if (videos.length === 1) return [pass("aligned-boundaries", "only one video rendition", reference.name)];
  return videos.slice(1).flatMap((rendition) => {
    if (rendition.facts.length !== reference.facts.length) {
      return [
        fail(
          "aligned-boundaries",
          `${rendition.facts.length} segments, but ${reference.name} has ${reference.facts.length}`,
          rendition.name,
        ),
      ];
    }
    const tolerance = Math.min(reference.frameDuration, rendition.frameDuration) / 2 + TIMING_SLACK;
    const failures = rendition.facts.flatMap((facts, index) => {
      const offset = facts.firstPts - reference.facts[index]!.firstPts;
      return Math.abs(offset) > tolerance
        ? [
            fail(
              "aligned-boundaries",
              `starts at ${seconds(facts.firstPts)}, ${reference.name} at ${seconds(reference.facts[index]!.firstPts)} (${ms(offset)}, over half a frame)`,
              rendition.name,
              index,
            ),
          ]
        : [];
    });
    return collect("aligned-boundaries", failures, `segment starts match ${reference.name}`, rendition.name);
  });
}

function durationMatchesDecoded(stream: StreamUnderTest): CheckResult[] {
  return [...measuredRenditions(stream, "video"), ...measuredRenditions(stream, "audio")].map((rendition) => {
    const declared = extinfSum(rendition.playlist);
    const decoded = decodedSpan(rendition);
    const detail = `EXTINF sum ${seconds(declared)}, decoded ${seconds(decoded)}, one frame ${ms(rendition.frameDuration)}`;
    return Math.abs(declared - decoded) > rendition.frameDuration + TIMING_SLACK
      ? fail("duration-matches-decoded", detail, rendition.name)
      : pass("duration-matches-decoded", detail, rendition.name);
  });
}

function segmentDuration(stream: StreamUnderTest): CheckResult[] {
  return [...measuredRenditions(stream, "video"), ...measuredRenditions(stream, "audio")].flatMap((rendition) => {
    const failures = rendition.facts.flatMap((facts, index) => {
      const extinf = rendition.playlist.segments[index]!.duration;
      const decoded = facts.endPts - facts.firstPts;
      return Math.abs(extinf - decoded) > rendition.frameDuration + TIMING_SLACK
        ? [fail("segment-duration", `EXTINF ${seconds(extinf)} but the segment decodes to ${seconds(decoded)}`, rendition.name, index)]
        : [];
    });
    return collect("segment-duration", failures, "every EXTINF is within one frame of its segment", rendition.name);
  });
}

function continuousTimestamps(stream: StreamUnderTest): CheckResult[] {
  return [...measuredRenditions(stream, "video"), ...measuredRenditions(stream, "audio")].flatMap((rendition) => {
    const failures = rendition.facts.slice(1).flatMap((facts, previousIndex) => {
      const delta = facts.firstPts - rendition.facts[previousIndex]!.endPts;
      if (Math.abs(delta) <= rendition.frameDuration + TIMING_SLACK) return [];
      const what = delta > 0 ? `a gap of ${ms(delta)}` : `an overlap of ${ms(-delta)}`;
      return [
        fail("continuous-timestamps", `${what} before this segment (one frame is ${ms(rendition.frameDuration)})`, rendition.name, previousIndex + 1),
      ];
    });
    return collect("continuous-timestamps", failures, `${rendition.facts.length - 1} joins without gap or overlap`, rendition.name);
  });
}

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

function bandwidth(stream: StreamUnderTest, which: "peak" | "average"): CheckResult[] {
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

function codecs(stream: StreamUnderTest): CheckResult[] {
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

function resolution(stream: StreamUnderTest): CheckResult[] {
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

function frameRate(stream: StreamUnderTest): CheckResult[] {
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

function audioDuration(stream: StreamUnderTest): CheckResult[] {
  const video = measuredRenditions(stream, "video")[0];
  if (!video) return [];
  return measuredRenditions(stream, "audio").map((audio) => {
    const audioSpan = decodedSpan(audio);
    const videoSpan = decodedSpan(video);
    const detail = `audio ${seconds(audioSpan)}, video (${video.name}) ${seconds(videoSpan)}, one audio frame ${ms(audio.frameDuration)}`;
    return Math.abs(audioSpan - videoSpan) > audio.frameDuration + TIMING_SLACK
      ? fail("audio-duration", detail, audio.name)
      : pass("audio-duration", detail, audio.name);
  });
}

function iframePlaylists(stream: StreamUnderTest): CheckResult[] {
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
