import { describe, expect, it } from "vitest";
import { RULES, type RuleId, type StreamUnderTest } from "../../shared/hls/conformance-model.ts";
import { runConformanceRules } from "../../shared/hls/conformance-rules.ts";
import { parseMasterPlaylist, parseMediaPlaylist } from "../../shared/hls/parse-playlist.ts";
import type { SegmentFacts } from "../../shared/hls/segment-facts.ts";

/*
 * A conformant 10 s stream, 25 fps, 4 s segments (4 + 4 + 2), two video renditions, one AAC
 * audio rendition at 48 kHz, and an I-frame playlist for 720p. Timestamps start at 1.4 s as
 * ffmpeg's TS muxer writes them.
 *
 * Measured rates (see bandwidth.ts for the peak windows):
 *   720p video: 1,250,000 / 1,500,000 / 500,000 bytes -> peak 3,000,000, average 2,600,000 bit/s
 *   360p video:   500,000 /   600,000 / 200,000 bytes -> peak 1,200,000, average 1,040,000 bit/s
 *   audio:         68,000 /    68,000 /  34,000 bytes -> peak   136,364, average   135,928 bit/s
 *   720p I-frames: 60,160 / 58,092 / 40,044 bytes     -> peak   160,176 bit/s
 */
const MASTER = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3140000,AVERAGE-BANDWIDTH=2740000,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="audio"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1340000,AVERAGE-BANDWIDTH=1180000,CODECS="avc1.4D401E,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="audio"
360p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=160000,AVERAGE-BANDWIDTH=125000,CODECS="avc1.64001F",RESOLUTION=1280x720,URI="720p/iframes.m3u8"
`;

const VIDEO_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:4.000000,
seg-00000.ts
#EXTINF:4.000000,
seg-00001.ts
#EXTINF:2.000000,
seg-00002.ts
#EXT-X-ENDLIST
`;

const AUDIO_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:4.010667,
seg-00000.ts
#EXTINF:3.989333,
seg-00001.ts
#EXTINF:2.005333,
seg-00002.ts
#EXT-X-ENDLIST
`;

const IFRAME_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-I-FRAMES-ONLY
#EXTINF:4.000000,
#EXT-X-BYTERANGE:60160@0
seg-00000.ts
#EXTINF:4.000000,
#EXT-X-BYTERANGE:58092@0
seg-00001.ts
#EXTINF:2.000000,
#EXT-X-BYTERANGE:40044@0
seg-00002.ts
#EXT-X-ENDLIST
`;

type FactsByRendition = Record<"720p" | "360p" | "audio", SegmentFacts[]>;

function facts(): FactsByRendition {
  const video = (bytes: number[], codec: string, width: number, height: number, iframes: number[]): SegmentFacts[] =>
    [
      { firstPts: 1.4, endPts: 5.4, packets: 100 },
      { firstPts: 5.4, endPts: 9.4, packets: 100 },
      { firstPts: 9.4, endPts: 11.4, packets: 50 },
    ].map((timing, index) => ({
      ...timing,
      bytes: bytes[index]!,
      startsWithKeyframe: true,
      startsWithIdr: true,
      frameDuration: 0.04,
      codec,
      width,
      height,
      iframe: { offset: 0, length: iframes[index]! },
    }));
  return {
    "720p": video([1_250_000, 1_500_000, 500_000], "avc1.64001F", 1280, 720, [60_160, 58_092, 40_044]),
    "360p": video([500_000, 600_000, 200_000], "avc1.4D401E", 640, 360, [20_304, 19_176, 15_040]),
    audio: [
      { firstPts: 1.4, endPts: 5.410667, packets: 188, bytes: 68_000 },
      { firstPts: 5.410667, endPts: 9.4, packets: 187, bytes: 68_000 },
      { firstPts: 9.4, endPts: 11.405333, packets: 94, bytes: 34_000 },
    ].map((segment) => ({
      ...segment,
      startsWithKeyframe: true,
      frameDuration: 0.021333,
      codec: "mp4a.40.2",
      sampleRate: 48_000,
      channels: 2,
    })),
  };
}

interface Changes {
  master?: (text: string) => string;
  "720p"?: (text: string) => string;
  "360p"?: (text: string) => string;
  audio?: (text: string) => string;
  iframes?: (text: string) => string;
  facts?: (facts: FactsByRendition) => void;
}

/** The conformant stream, with the text and facts changed as a case needs. */
function stream(changes: Changes = {}): StreamUnderTest {
  const same = (text: string) => text;
  const measured = facts();
  changes.facts?.(measured);
  const rendition = (name: "720p" | "360p" | "audio", text: string) => {
    const playlist = parseMediaPlaylist((changes[name] ?? same)(text));
    return {
      name: `${name}/index.m3u8`,
      kind: name === "audio" ? ("audio" as const) : ("video" as const),
      playlist,
      segments: playlist.segments.map((segment, index) => ({ uri: segment.uri, facts: measured[name][index] })),
    };
  };
  return {
    master: parseMasterPlaylist((changes.master ?? same)(MASTER)),
    renditions: [rendition("720p", VIDEO_PLAYLIST), rendition("360p", VIDEO_PLAYLIST), rendition("audio", AUDIO_PLAYLIST)],
    iframeStreams: [
      {
        name: "720p/iframes.m3u8",
        playlist: parseMediaPlaylist((changes.iframes ?? same)(IFRAME_PLAYLIST)),
        rendition: "720p/index.m3u8",
        segmentIndexes: [0, 1, 2],
      },
    ],
  };
}

function failedRules(changes: Changes): RuleId[] {
  const failures = runConformanceRules(stream(changes)).filter((check) => !check.ok);
  return [...new Set(failures.map((check) => check.rule))].sort();
}

function failures(changes: Changes, rule: RuleId) {
  return runConformanceRules(stream(changes)).filter((check) => !check.ok && check.rule === rule);
}

describe("runConformanceRules on a conformant stream", () => {
  it("passes every rule, and every rule ran", () => {
    const checks = runConformanceRules(stream());
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect([...new Set(checks.map((check) => check.rule))].sort()).toEqual([...RULES].sort());
  });

  it("reports the measured figures in the details", () => {
    const checks = runConformanceRules(stream());
    const detail = (rule: RuleId, rendition: string) => checks.find((check) => check.rule === rule && check.rendition === rendition)?.detail;
    expect(detail("bandwidth-peak", "720p/index.m3u8")).toBe("BANDWIDTH 3140000, measured 3136364 bit/s (-0.1% of declared)");
    expect(detail("bandwidth-average", "360p/index.m3u8")).toBe("AVERAGE-BANDWIDTH 1180000, measured 1175928 bit/s (-0.3% of declared)");
    expect(detail("audio-duration", "audio/index.m3u8")).toBe(
      "audio 10.005333 s, video (720p/index.m3u8) 10.000000 s, one audio frame 21.333 ms",
    );
  });
});

describe("each rule fails on a stream that breaks it", () => {
  it("files-readable: a segment that could not be measured", () => {
    const result = stream();
    result.renditions[1]!.segments[1] = { uri: "seg-00001.ts", error: "file not found" };
    const failed = runConformanceRules(result).filter((check) => !check.ok);
    expect(failed).toEqual([
      { rule: "files-readable", ok: false, detail: "seg-00001.ts: file not found", rendition: "360p/index.m3u8", segment: 1 },
    ]);
  });

  it("master-attributes: no EXT-X-INDEPENDENT-SEGMENTS, or an AUDIO group that does not exist", () => {
    expect(failedRules({ master: (text) => text.replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "") })).toEqual(["master-attributes"]);
    expect(failures({ master: (text) => text.replace(',AUDIO="audio"\n360p', ',AUDIO="aud"\n360p') }, "master-attributes")).toEqual([
      {
        rule: "master-attributes",
        ok: false,
        detail: 'AUDIO="aud" names no EXT-X-MEDIA TYPE=AUDIO group',
        rendition: "360p/index.m3u8",
      },
    ]);
  });

  it("playlist-type-vod: a media playlist without EXT-X-PLAYLIST-TYPE:VOD", () => {
    expect(failedRules({ "360p": (text) => text.replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "") })).toEqual(["playlist-type-vod"]);
    expect(failedRules({ audio: (text) => text.replace("PLAYLIST-TYPE:VOD", "PLAYLIST-TYPE:EVENT") })).toEqual(["playlist-type-vod"]);
  });

  it("endlist: a media playlist without EXT-X-ENDLIST", () => {
    expect(failedRules({ audio: (text) => text.replace("#EXT-X-ENDLIST\n", "") })).toEqual(["endlist"]);
  });

  it("target-duration: an EXTINF that rounds above EXT-X-TARGETDURATION", () => {
    expect(failedRules({ "720p": (text) => text.replace("TARGETDURATION:4", "TARGETDURATION:3") })).toEqual(["target-duration"]);
    expect(failures({ "720p": (text) => text.replace("TARGETDURATION:4", "TARGETDURATION:3") }, "target-duration").map((check) => check.segment)).toEqual([0, 1]);
  });

  it("keyframe-start: a segment that starts without a keyframe, or with a non-IDR keyframe", () => {
    const noKeyframe = failures({ facts: (all) => void (all["360p"][1]!.startsWithKeyframe = false) }, "keyframe-start");
    expect(noKeyframe).toEqual([
      { rule: "keyframe-start", ok: false, detail: "seg-00001.ts does not start with a keyframe", rendition: "360p/index.m3u8", segment: 1 },
    ]);
    expect(failedRules({ facts: (all) => void (all["720p"][2]!.startsWithIdr = false) })).toEqual(["keyframe-start"]);
  });

  it("aligned-boundaries: a rendition whose second segment starts one frame later", () => {
    const changes: Changes = {
      "360p": (text) => text.replace("#EXTINF:4.000000,\nseg-00000", "#EXTINF:4.040000,\nseg-00000").replace("#EXTINF:4.000000,\nseg-00001", "#EXTINF:3.960000,\nseg-00001"),
      facts: (all) => {
        Object.assign(all["360p"][0]!, { endPts: 5.44, packets: 101 });
        Object.assign(all["360p"][1]!, { firstPts: 5.44, packets: 99 });
      },
    };
    expect(failedRules(changes)).toEqual(["aligned-boundaries"]);
    expect(failures(changes, "aligned-boundaries")[0]).toMatchObject({ rendition: "360p/index.m3u8", segment: 1 });
  });

  it("duration-matches-decoded: EXTINFs that add up to more than one frame over the decoded duration", () => {
    // Each EXTINF alone is within one frame (30 ms < 40 ms) of its segment, the sum is 60 ms over.
    const changes: Changes = { "720p": (text) => text.replaceAll("#EXTINF:4.000000,", "#EXTINF:4.030000,") };
    expect(failedRules(changes)).toEqual(["duration-matches-decoded"]);
    expect(failures(changes, "duration-matches-decoded")[0]?.detail).toBe(
      "EXTINF sum 10.060000 s, decoded 10.000000 s, one frame 40.000 ms",
    );
  });

  it("segment-duration: an EXTINF more than one frame away from its segment", () => {
    const changes: Changes = {
      "360p": (text) => text.replace("#EXTINF:4.000000,\nseg-00000", "#EXTINF:4.100000,\nseg-00000").replace("#EXTINF:4.000000,\nseg-00001", "#EXTINF:3.900000,\nseg-00001"),
    };
    expect(failedRules(changes)).toEqual(["segment-duration"]);
    expect(failures(changes, "segment-duration").map((check) => check.segment)).toEqual([0, 1]);
  });

  it("continuous-timestamps: a gap and an overlap at the joins", () => {
    const changes: Changes = {
      facts: (all) => {
        Object.assign(all.audio[1]!, { firstPts: 5.450667, endPts: 9.44 });
      },
    };
    expect(failedRules(changes)).toEqual(["continuous-timestamps"]);
    expect(failures(changes, "continuous-timestamps").map((check) => [check.segment, check.detail])).toEqual([
      [1, "a gap of 40.000 ms before this segment (one frame is 21.333 ms)"],
      [2, "an overlap of 40.000 ms before this segment (one frame is 21.333 ms)"],
    ]);
  });

  it("bandwidth-peak: BANDWIDTH more than 10% below or above the measured peak", () => {
    expect(failedRules({ master: (text) => text.replace("BANDWIDTH=3140000", "BANDWIDTH=2800000") })).toEqual(["bandwidth-peak"]);
    expect(failedRules({ master: (text) => text.replace("BANDWIDTH=3140000", "BANDWIDTH=3600000") })).toEqual(["bandwidth-peak"]);
    // 9% low is still within tolerance.
    expect(failedRules({ master: (text) => text.replace("BANDWIDTH=3140000", "BANDWIDTH=3450000") })).toEqual([]);
  });

  it("bandwidth-average: AVERAGE-BANDWIDTH more than 10% off the measured average", () => {
    expect(failedRules({ master: (text) => text.replace("AVERAGE-BANDWIDTH=1180000", "AVERAGE-BANDWIDTH=1000000") })).toEqual([
      "bandwidth-average",
    ]);
  });

  it("bandwidth: a sliver segment does not inflate the measured peak", () => {
    // A 0.08 s tail of 60,000 bytes is 6 Mb/s on its own, but counts together with its neighbour.
    const changes: Changes = {
      "360p": (text) => text.replace("#EXT-X-ENDLIST", "#EXTINF:0.080000,\nseg-00003.ts\n#EXT-X-ENDLIST"),
      facts: (all) => {
        all["360p"].push({ ...all["360p"][2]!, firstPts: 11.4, endPts: 11.48, packets: 2, bytes: 60_000 });
      },
    };
    const checks = runConformanceRules(stream(changes)).filter((check) => check.rule === "bandwidth-peak" && check.rendition === "360p/index.m3u8");
    expect(checks).toEqual([
      {
        rule: "bandwidth-peak",
        ok: true,
        detail: "BANDWIDTH 1340000, measured 1336364 bit/s (-0.3% of declared)",
        rendition: "360p/index.m3u8",
      },
    ]);
  });

  it("codecs: the wrong level, a missing audio codec, segments with different levels", () => {
    expect(failedRules({ master: (text) => text.replace('CODECS="avc1.64001F,mp4a.40.2"', 'CODECS="avc1.640028,mp4a.40.2"') })).toEqual(["codecs"]);
    expect(failures({ master: (text) => text.replace('CODECS="avc1.4D401E,mp4a.40.2"', 'CODECS="avc1.4D401E"') }, "codecs")).toEqual([
      {
        rule: "codecs",
        ok: false,
        detail: "the audio rendition is mp4a.40.2, CODECS declares no audio",
        rendition: "360p/index.m3u8",
      },
    ]);
    expect(failures({ facts: (all) => void (all["720p"][2]!.codec = "avc1.640020") }, "codecs")[0]?.detail).toBe(
      "the segments were encoded with different profiles/levels: avc1.64001F, avc1.640020",
    );
  });

  it("resolution: RESOLUTION that is not the encoded size", () => {
    expect(failedRules({ master: (text) => text.replace("RESOLUTION=640x360,FRAME", "RESOLUTION=640x352,FRAME") })).toEqual(["resolution"]);
  });

  it("frame-rate: FRAME-RATE that is not the encoded rate", () => {
    expect(failedRules({ master: (text) => text.replace("640x360,FRAME-RATE=25.000", "640x360,FRAME-RATE=30.000") })).toEqual(["frame-rate"]);
  });

  it("audio-duration: audio more than one AAC frame longer than the video", () => {
    const changes: Changes = {
      audio: (text) => text.replace("#EXTINF:2.005333,", "#EXTINF:2.048000,"),
      facts: (all) => Object.assign(all.audio[2]!, { endPts: 11.448, packets: 96 }),
    };
    expect(failedRules(changes)).toEqual(["audio-duration"]);
  });

  it("iframe-playlist: a byte range that does not cover the I-frame, or an entry missing", () => {
    expect(failures({ iframes: (text) => text.replace("58092@0", "30000@0") }, "iframe-playlist")).toEqual([
      {
        rule: "iframe-playlist",
        ok: false,
        detail: "byte range 30000@0 does not cover the I-frame at 58092@0",
        rendition: "720p/iframes.m3u8",
        segment: 1,
      },
    ]);
    expect(failedRules({ iframes: (text) => text.replace("#EXTINF:2.000000,\n#EXT-X-BYTERANGE:40044@0\nseg-00002.ts\n", "") })).toEqual([
      "iframe-playlist",
    ]);
  });

  it("a segment dropped from one rendition breaks boundaries, joins and the duration", () => {
    const changes: Changes = {
      "360p": (text) => text.replace("#EXTINF:4.000000,\nseg-00001.ts\n", ""),
      facts: (all) => void all["360p"].splice(1, 1),
    };
    // The peak and the frame rate measured over the remaining segments are off too.
    expect(failedRules(changes)).toEqual([
      "aligned-boundaries",
      "bandwidth-peak",
      "continuous-timestamps",
      "duration-matches-decoded",
      "frame-rate",
    ]);
  });
});
