import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { combineBandwidth, measureBandwidth, targetDurationFor } from "../../shared/hls/bandwidth.ts";
import { parseAttributeList, parseMasterPlaylist, parseMediaPlaylist, parsePlaylist } from "../../shared/hls/parse-playlist.ts";
import {
  orderVariants,
  writeIFramePlaylist,
  writeMasterPlaylist,
  writeMediaPlaylist,
  type MasterPlaylistInput,
  type MediaSegment,
} from "../../shared/hls/playlists.ts";

// m3u8-parser (video.js) ships no type declarations; it is the independent parser here.
interface M3u8Manifest {
  targetDuration?: number;
  endList?: boolean;
  playlistType?: string;
  segments: { uri: string; duration: number; byterange?: { length: number; offset: number } }[];
  iFramePlaylists?: unknown[];
  playlists?: { uri: string; attributes: Record<string, unknown> }[];
  mediaGroups?: { AUDIO?: Record<string, Record<string, { uri: string; default: boolean; autoselect: boolean }>> };
}
const { Parser } = createRequire(import.meta.url)("m3u8-parser") as {
  Parser: new () => { push(text: string): void; end(): void; manifest: M3u8Manifest };
};
function independentParse(text: string): M3u8Manifest {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

const segments: MediaSegment[] = [
  { uri: "seg-00000.ts", duration: 4, bytes: 1_000_000, iframe: { offset: 0, length: 60_160 } },
  { uri: "seg-00001.ts", duration: 4.004, bytes: 1_200_000, iframe: { offset: 0, length: 58_092 } },
  { uri: "seg-00002.ts", duration: 1.501667, bytes: 300_000, iframe: { offset: 0, length: 40_044 } },
];

describe("writeMediaPlaylist", () => {
  it("writes a VOD playlist with six-decimal EXTINF and a rounded target duration", () => {
    expect(writeMediaPlaylist({ segments })).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXTINF:4.000000,",
        "seg-00000.ts",
        "#EXTINF:4.004000,",
        "seg-00001.ts",
        "#EXTINF:1.501667,",
        "seg-00002.ts",
        "#EXT-X-ENDLIST",
        "",
      ].join("\n"),
    );
  });

  it("rounds the target duration to the nearest integer, not up, and never below 1", () => {
    expect(targetDurationFor([4.49, 3])).toBe(4);
    expect(targetDurationFor([4.5, 3])).toBe(5);
    expect(targetDurationFor([0.3])).toBe(1);
    expect(writeMediaPlaylist({ segments: [{ uri: "a.ts", duration: 6.4, bytes: 1 }] })).toContain("#EXT-X-TARGETDURATION:6\n");
  });

  it("accepts a larger target duration but refuses one below the longest segment", () => {
    expect(writeMediaPlaylist({ segments, targetDuration: 6 })).toContain("#EXT-X-TARGETDURATION:6\n");
    expect(() => writeMediaPlaylist({ segments, targetDuration: 3 })).toThrow(/below the longest segment/);
  });

  it("refuses empty playlists, bad durations and URIs that would break the text", () => {
    expect(() => writeMediaPlaylist({ segments: [] })).toThrow(/at least one segment/);
    expect(() => writeMediaPlaylist({ segments: [{ uri: "a.ts", duration: 0, bytes: 1 }] })).toThrow(/invalid duration/);
    expect(() => writeMediaPlaylist({ segments: [{ uri: "a.ts\n#EXT-X-ENDLIST", duration: 1, bytes: 1 }] })).toThrow(/invalid playlist URI/);
  });

  it("is deterministic and reads back the same through our parser and m3u8-parser", () => {
    const text = writeMediaPlaylist({ segments });
    expect(writeMediaPlaylist({ segments: segments.map((segment) => ({ ...segment })) })).toBe(text);
    const ours = parseMediaPlaylist(text);
    expect(ours.segments.map((segment) => [segment.uri, segment.duration])).toEqual([
      ["seg-00000.ts", 4],
      ["seg-00001.ts", 4.004],
      ["seg-00002.ts", 1.501667],
    ]);
    expect([ours.targetDuration, ours.playlistType, ours.endList, ours.independentSegments]).toEqual([4, "VOD", true, true]);
    const theirs = independentParse(text);
    expect(theirs.segments.map((segment) => [segment.uri, segment.duration])).toEqual([
      ["seg-00000.ts", 4],
      ["seg-00001.ts", 4.004],
      ["seg-00002.ts", 1.501667],
    ]);
    expect([theirs.targetDuration, theirs.playlistType, theirs.endList]).toEqual([4, "VOD", true]);
  });

  it("writes a growing EVENT playlist without the end list, otherwise the VOD playlist's lines", () => {
    const event = writeMediaPlaylist({ segments: segments.slice(0, 2), targetDuration: 4, playlistType: "EVENT" });
    expect(event).toBe(
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
        "#EXTINF:4.000000,\nseg-00000.ts\n#EXTINF:4.004000,\nseg-00001.ts\n",
    );
    const ours = parseMediaPlaylist(event);
    expect([ours.playlistType, ours.endList]).toEqual(["EVENT", false]);
    const theirs = independentParse(event);
    expect([theirs.playlistType, theirs.endList, theirs.segments.length]).toEqual(["EVENT", undefined, 2]);
    // Complete: the VOD playlist starts with the same lines, the EVENT one's segments among them.
    const vod = writeMediaPlaylist({ segments, targetDuration: 4 });
    expect(vod.replace("PLAYLIST-TYPE:VOD", "PLAYLIST-TYPE:EVENT").startsWith(event)).toBe(true);
  });
});

describe("writeIFramePlaylist", () => {
  it("writes one byte-ranged I-frame per segment with the segment's duration", () => {
    expect(writeIFramePlaylist({ segments })).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:4",
        "#EXT-X-TARGETDURATION:4",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-I-FRAMES-ONLY",
        "#EXTINF:4.000000,",
        "#EXT-X-BYTERANGE:60160@0",
        "seg-00000.ts",
        "#EXTINF:4.004000,",
        "#EXT-X-BYTERANGE:58092@0",
        "seg-00001.ts",
        "#EXTINF:1.501667,",
        "#EXT-X-BYTERANGE:40044@0",
        "seg-00002.ts",
        "#EXT-X-ENDLIST",
        "",
      ].join("\n"),
    );
    const theirs = independentParse(writeIFramePlaylist({ segments }));
    expect(theirs.segments[1]?.byterange).toEqual({ length: 58092, offset: 0 });
  });

  it("needs a byte range for every segment", () => {
    expect(() => writeIFramePlaylist({ segments: [{ uri: "a.ts", duration: 4, bytes: 10 }] })).toThrow(/no I-frame byte range/);
  });
});

const master: MasterPlaylistInput = {
  variants: [
    {
      uri: "360p/index.m3u8",
      bandwidth: 880_000,
      averageBandwidth: 800_000,
      codecs: "avc1.4D401E",
      resolution: { width: 640, height: 360 },
      frameRate: 30000 / 1001,
      iframes: { uri: "360p/iframes.m3u8", bandwidth: 95_000, averageBandwidth: 60_000 },
    },
    {
      uri: "1080p/index.m3u8",
      bandwidth: 5_500_000,
      averageBandwidth: 5_000_000,
      codecs: "avc1.640028",
      resolution: { width: 1920, height: 1080 },
      frameRate: 30,
      iframes: { uri: "1080p/iframes.m3u8", bandwidth: 420_000, averageBandwidth: 300_000 },
    },
    {
      uri: "720p/index.m3u8",
      bandwidth: 1_800_000,
      averageBandwidth: 1_700_000,
      codecs: "avc1.64001F",
      resolution: { width: 1280, height: 720 },
      frameRate: 30,
      iframes: { uri: "720p/iframes.m3u8", bandwidth: 200_000, averageBandwidth: 150_000 },
    },
  ],
  audio: {
    groupId: "audio",
    name: "English",
    uri: "audio/index.m3u8",
    channels: 2,
    language: "en",
    default: true,
    bandwidth: { peak: 140_000, average: 130_000 },
  },
};

describe("writeMasterPlaylist", () => {
  it("writes the audio group, the variants (start variant first) and the I-frame streams", () => {
    expect(writeMasterPlaylist(master)).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:4",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
        "",
        '#EXT-X-STREAM-INF:BANDWIDTH=1940000,AVERAGE-BANDWIDTH=1830000,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"',
        "720p/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=5640000,AVERAGE-BANDWIDTH=5130000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=30.000,AUDIO="audio"',
        "1080p/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=1020000,AVERAGE-BANDWIDTH=930000,CODECS="avc1.4D401E,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=29.970,AUDIO="audio"',
        "360p/index.m3u8",
        "",
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,AVERAGE-BANDWIDTH=150000,CODECS="avc1.64001F",RESOLUTION=1280x720,URI="720p/iframes.m3u8"',
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=420000,AVERAGE-BANDWIDTH=300000,CODECS="avc1.640028",RESOLUTION=1920x1080,URI="1080p/iframes.m3u8"',
        '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=95000,AVERAGE-BANDWIDTH=60000,CODECS="avc1.4D401E",RESOLUTION=640x360,URI="360p/iframes.m3u8"',
        "",
      ].join("\n"),
    );
  });

  it("writes a video-only master without an audio group or audio codec", () => {
    const text = writeMasterPlaylist({ variants: [{ ...master.variants[0]!, iframes: undefined }] });
    expect(text).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "",
        '#EXT-X-STREAM-INF:BANDWIDTH=880000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.4D401E",RESOLUTION=640x360,FRAME-RATE=29.970',
        "360p/index.m3u8",
        "",
      ].join("\n"),
    );
  });

  it("gives the same bytes whatever order the variants come in", () => {
    const reversed = { ...master, variants: [...master.variants].reverse() };
    expect(writeMasterPlaylist(reversed)).toBe(writeMasterPlaylist(master));
  });

  it("reads back through our parser and m3u8-parser", () => {
    const text = writeMasterPlaylist(master);
    const ours = parseMasterPlaylist(text);
    expect(ours.variants.map((variant) => [variant.uri, variant.bandwidth, variant.codecs, variant.frameRate, variant.audio])).toEqual([
      ["720p/index.m3u8", 1_940_000, ["avc1.64001F", "mp4a.40.2"], 30, "audio"],
      ["1080p/index.m3u8", 5_640_000, ["avc1.640028", "mp4a.40.2"], 30, "audio"],
      ["360p/index.m3u8", 1_020_000, ["avc1.4D401E", "mp4a.40.2"], 29.97, "audio"],
    ]);
    expect(ours.media[0]).toMatchObject({ type: "AUDIO", groupId: "audio", uri: "audio/index.m3u8", default: true, channels: "2" });
    expect(ours.iframeVariants.map((variant) => variant.uri)).toEqual(["720p/iframes.m3u8", "1080p/iframes.m3u8", "360p/iframes.m3u8"]);

    const theirs = independentParse(text);
    expect(theirs.playlists?.map((playlist) => [playlist.uri, playlist.attributes.BANDWIDTH, playlist.attributes.CODECS])).toEqual([
      ["720p/index.m3u8", 1_940_000, "avc1.64001F,mp4a.40.2"],
      ["1080p/index.m3u8", 5_640_000, "avc1.640028,mp4a.40.2"],
      ["360p/index.m3u8", 1_020_000, "avc1.4D401E,mp4a.40.2"],
    ]);
    expect(theirs.mediaGroups?.AUDIO?.audio?.English).toMatchObject({ uri: "audio/index.m3u8", default: true, autoselect: true });
  });

  it("refuses attribute values that would break the text", () => {
    expect(() => writeMasterPlaylist({ ...master, audio: { ...master.audio!, name: 'Say "hi"' } })).toThrow(/quoted attribute/);
    expect(() => writeMasterPlaylist({ variants: [] })).toThrow(/at least one variant/);
    expect(() => writeMasterPlaylist({ variants: [{ ...master.variants[0]!, bandwidth: 1.5 }] })).toThrow(/BANDWIDTH/);
  });
});

describe("orderVariants", () => {
  const ladder = [
    { uri: "a", bandwidth: 800_000 },
    { uri: "b", bandwidth: 5_500_000 },
    { uri: "c", bandwidth: 2_900_000 },
    { uri: "d", bandwidth: 1_500_000 },
  ];
  it("starts with the highest variant at or under the start bandwidth, then highest first", () => {
    expect(orderVariants(ladder).map((variant) => variant.uri)).toEqual(["d", "b", "c", "a"]);
    expect(orderVariants(ladder, 3_000_000).map((variant) => variant.uri)).toEqual(["c", "b", "d", "a"]);
  });
  it("starts with the lowest variant when every variant is above the start bandwidth", () => {
    expect(orderVariants(ladder, 100_000).map((variant) => variant.uri)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("measureBandwidth", () => {
  it("average is total bits over total duration; peak the highest 0.5-1.5 target-duration window", () => {
    // 4 s at 2 Mb/s, 4 s at 3 Mb/s, 4 s at 1 Mb/s.
    const rates = measureBandwidth([
      { duration: 4, bytes: 1_000_000 },
      { duration: 4, bytes: 1_500_000 },
      { duration: 4, bytes: 500_000 },
    ]);
    expect(rates).toEqual({ peak: 3_000_000, average: 2_000_000 });
  });

  it("counts a sliver final segment together with its neighbour instead of on its own", () => {
    // The case measured in DESIGN.md: a 0.07 s tail holding an IDR frame measures 5.1 Mb/s alone.
    const rates = measureBandwidth([
      { duration: 4, bytes: 1_400_000 }, // 2.8 Mb/s
      { duration: 4, bytes: 1_400_000 }, // 2.8 Mb/s
      { duration: 0.07, bytes: 44_625 }, // 5.1 Mb/s on its own
    ]);
    // Window [4 s + 0.07 s]: (1,400,000 + 44,625) * 8 / 4.07 = 2,839,557.7 bit/s.
    expect(rates.peak).toBe(2_839_558);
    expect(rates.average).toBe(Math.ceil(((2_800_000 + 44_625) * 8) / 8.07));
  });

  it("still counts a short segment on its own when it is at least half the target duration", () => {
    const rates = measureBandwidth([
      { duration: 4, bytes: 1_000_000 }, // 2 Mb/s
      { duration: 2, bytes: 1_000_000 }, // 4 Mb/s, exactly half the target: a real peak
    ]);
    expect(rates.peak).toBe(4_000_000);
  });

  it("uses the average as the peak when the whole stream is shorter than half the target duration", () => {
    expect(measureBandwidth([{ duration: 0.3, bytes: 30_000 }], { targetDuration: 4 })).toEqual({ peak: 800_000, average: 800_000 });
    expect(measureBandwidth([])).toEqual({ peak: 0, average: 0 });
  });

  it("adds the audio rendition to a variant", () => {
    expect(combineBandwidth({ peak: 1_000, average: 900 }, { peak: 140, average: 130 })).toEqual({ peak: 1_140, average: 1_030 });
    expect(combineBandwidth({ peak: 1_000, average: 900 })).toEqual({ peak: 1_000, average: 900 });
  });
});

describe("parsePlaylist", () => {
  it("parses attribute lists with quoted commas and unquoted values", () => {
    expect(parseAttributeList('BANDWIDTH=1280000,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,NAME="a=b"')).toEqual({
      BANDWIDTH: "1280000",
      CODECS: "avc1.4d401e,mp4a.40.2",
      RESOLUTION: "640x360",
      NAME: "a=b",
    });
    expect(() => parseAttributeList('CODECS="avc1')).toThrow(/unterminated/);
    expect(() => parseAttributeList("A=1,A=2")).toThrow(/given twice/);
  });

  it("parses a media playlist with byte ranges that continue the previous range", () => {
    const playlist = parseMediaPlaylist(
      [
        "#EXTM3U",
        "#EXT-X-TARGETDURATION:6",
        "#EXT-X-VERSION:4",
        "#EXT-X-I-FRAMES-ONLY",
        "#EXTINF:5.005,first",
        "#EXT-X-BYTERANGE:1000@376",
        "main.ts",
        "#EXTINF:5.005,",
        "#EXT-X-BYTERANGE:2000",
        "main.ts",
        "#EXT-X-DISCONTINUITY",
        "#EXTINF:1.5,",
        "other.ts",
      ].join("\r\n"),
    );
    expect(playlist).toEqual({
      kind: "media",
      version: 4,
      targetDuration: 6,
      endList: false,
      independentSegments: false,
      iFramesOnly: true,
      otherTags: [],
      segments: [
        { uri: "main.ts", duration: 5.005, title: "first", byteRange: { length: 1000, offset: 376 }, discontinuity: false },
        { uri: "main.ts", duration: 5.005, title: "", byteRange: { length: 2000, offset: 1376 }, discontinuity: false },
        { uri: "other.ts", duration: 1.5, title: "", discontinuity: true },
      ],
    });
  });

  it("rejects what is not a playlist, with the line", () => {
    expect(() => parsePlaylist("<html>404</html>")).toThrow(/line 1: does not start with #EXTM3U/);
    expect(() => parsePlaylist("#EXTM3U\n#EXTINF:abc,\na.ts\n")).toThrow(/line 2: EXTINF: expected a decimal/);
    expect(() => parsePlaylist("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n")).toThrow(/line 3: #EXTINF is not followed by a URI/);
    expect(() => parsePlaylist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-ENDLIST\n")).toThrow(/both master and media/);
    expect(() => parsePlaylist("#EXTM3U\n#EXT-X-VERSION:3\n")).toThrow(/neither a master nor a media playlist/);
  });
});
