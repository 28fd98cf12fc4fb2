/**
 * The HLS conformance rules: pure functions over parsed playlists and measured segment facts.
 * `vodpipe check` and the publish step run the same rules (through check-hls.ts). The rules on
 * what the master declares live in conformance-declared-rules.ts; the types in conformance-model.ts.
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
import {
  collect,
  decodedSpan,
  extinfSum,
  fail,
  mediaPlaylists,
  measuredRenditions,
  ms,
  pass,
  seconds,
  TIMING_SLACK,
  type CheckResult,
  type StreamUnderTest,
} from "./conformance-model.ts";
import { bandwidth, codecs, frameRate, iframePlaylists, resolution } from "./conformance-declared-rules.ts";

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
