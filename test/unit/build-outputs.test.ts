import { describe, expect, it } from "vitest";
import { buildOutputs } from "../../services/publish/build-outputs.ts";
import type { ActiveJob } from "../../shared/pipeline/job-guard.ts";
import type { PartRecord } from "../../shared/pipeline/part-record.ts";
import { manifestSchema } from "../../services/publish/manifest-schema.ts";

// A 10 s, 30 fps video with audio: three 4/4/2 s segments in two chunks, two renditions.
const JOB: ActiveJob = {
  videoId: "clip-1",
  status: "processing",
  sourceKey: "sources/clip-1/source.mp4",
  originalName: "holiday.mp4",
  createdAt: "2024-05-01T10:00:00.000Z",
  updatedAt: "2024-05-01T10:00:02.000Z",
  source: {
    formatName: "mov,mp4,m4a,3gp,3g2,mj2",
    sizeBytes: 5_000_000,
    streamCount: 2,
    formatStartTime: 0,
    durationSeconds: 10,
    video: {
      index: 0, codec: "h264", codedWidth: 1280, codedHeight: 720, rotation: 0, displayWidth: 1280, displayHeight: 720,
      pixelFormat: "yuv420p", hdr: null, fullRange: false, frameCount: 300, frameRate: { num: 30, den: 1 }, startTime: 0, durationSeconds: 10, maxKeyframeGapSeconds: 2, timestamped: true,
    },
    audio: { index: 1, codec: "aac", channels: 2, sampleRate: 48_000 },
  },
  plan: {
    segmentSeconds: 4,
    x264Preset: "veryfast",
    renditions: [
      { name: "720p", width: 1280, height: 720, videoKbps: 2800, maxrateKbps: 3080, bufsizeKbps: 5600, profile: "high" },
      { name: "360p", width: 640, height: 360, videoKbps: 800, maxrateKbps: 880, bufsizeKbps: 1600, profile: "main" },
    ],
    chunks: {
      frameRate: { num: 30, den: 1 },
      totalFrames: 300,
      segmentStarts: [0, 120, 240],
      chunks: [
        { index: 0, startFrame: 0, frameCount: 240, firstSegment: 0, keyframeOffsets: [0, 120], startTime: 0, endTime: 8, sourceKeyframeTime: 0 },
        { index: 1, startFrame: 240, frameCount: 60, firstSegment: 2, keyframeOffsets: [0], startTime: 8, endTime: 10, sourceKeyframeTime: 8 },
      ],
    },
    toneMap: null,
    hasAudio: true,
    parts: ["chunk-000", "chunk-001", "audio", "thumbnails"],
  },
};

// What the thumbnails part records: its render result and the folder the files went to.
const THUMBNAILS = {
  folder: "thumbnails",
  poster: {
    time: 5.2, entropy: 7.1, candidates: [{ time: 5.2, entropy: 7.1, contrast: 52.3 }],
    files: [
      { path: "poster.jpg", width: 1280, height: 720, format: "jpeg" },
      { path: "poster-320.webp", width: 320, height: 180, format: "webp" },
    ],
  },
  storyboard: {
    vtt: "storyboard.vtt", sheets: [{ path: "storyboard-0.jpg", width: 800, height: 450, format: "jpeg" }],
    tileWidth: 160, tileHeight: 90, columns: 5, rows: 5, interval: 1, tileCount: 10,
  },
};

const PARTS: PartRecord[] = [
  {
    part: "chunk-001",
    startedAt: "2024-05-01T10:00:03.000Z",
    finishedAt: "2024-05-01T10:00:05.500Z",
    segments: {
      "720p": [{ uri: "seg-00002.ts", duration: 2, bytes: 600_000, iframe: { offset: 0, length: 47_000 } }],
      "360p": [{ uri: "seg-00002.ts", duration: 2, bytes: 180_000, iframe: { offset: 0, length: 15_040 } }],
    },
    codecs: { "720p": "avc1.64001f", "360p": "avc1.4d401e" },
  },
  {
    part: "chunk-000",
    startedAt: "2024-05-01T10:00:03.000Z",
    finishedAt: "2024-05-01T10:00:07.250Z",
    segments: {
      "720p": [
        { uri: "seg-00000.ts", duration: 4, bytes: 1_400_000, iframe: { offset: 0, length: 60_160 } },
        { uri: "seg-00001.ts", duration: 4, bytes: 1_500_000, iframe: { offset: 0, length: 56_400 } },
      ],
      "360p": [
        { uri: "seg-00000.ts", duration: 4, bytes: 400_000, iframe: { offset: 0, length: 18_800 } },
        { uri: "seg-00001.ts", duration: 4, bytes: 420_000, iframe: { offset: 0, length: 18_048 } },
      ],
    },
    codecs: { "720p": "avc1.64001f", "360p": "avc1.4d401e" },
  },
  {
    part: "audio",
    startedAt: "2024-05-01T10:00:03.000Z",
    finishedAt: "2024-05-01T10:00:04.000Z",
    segments: {
      audio: [
        { uri: "seg-00000.ts", duration: 4, bytes: 66_000 },
        { uri: "seg-00001.ts", duration: 4, bytes: 65_000 },
        { uri: "seg-00002.ts", duration: 2, bytes: 33_000 },
      ],
    },
  },
  {
    part: "thumbnails",
    startedAt: "2024-05-01T10:00:03.000Z",
    finishedAt: "2024-05-01T10:00:06.000Z",
    details: THUMBNAILS,
  },
];

const partsMap = (records: PartRecord[]) => new Map(records.map((record) => [record.part, record]));

// Every media playlist here has the same 4 s, 4 s, 2 s segments named seg-00000..00002.ts.
const MEDIA_4_4_2 = `#EXTM3U
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

const IFRAMES_720P = `#EXTM3U
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
#EXT-X-BYTERANGE:56400@0
seg-00001.ts
#EXTINF:2.000000,
#EXT-X-BYTERANGE:47000@0
seg-00002.ts
#EXT-X-ENDLIST
`;

// Peaks (RFC 8216bis: any run of segments lasting 0.5-1.5x the 4 s target): 720p 3.0 Mb/s (segment 1),
// 360p 840 kb/s, audio 132 kb/s; averages over 10 s. Each variant's rates include the audio's.
// 360p (972 kb/s in all) is listed first: the highest variant under the 2 Mb/s start bandwidth.
const MASTER = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Main",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=972000,AVERAGE-BANDWIDTH=931200,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="audio"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3132000,AVERAGE-BANDWIDTH=2931200,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"
720p/index.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=60160,AVERAGE-BANDWIDTH=41511,CODECS="avc1.4d401e",RESOLUTION=640x360,URI="360p/iframes.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=188000,AVERAGE-BANDWIDTH=130848,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="720p/iframes.m3u8"
`;

describe("buildOutputs", () => {
  it("writes every playlist and the manifest, master.m3u8 last", () => {
    const files = buildOutputs(JOB, partsMap(PARTS));
    expect(files.map((f) => [f.path, f.contentType])).toEqual([
      ["720p/index.m3u8", "application/vnd.apple.mpegurl"],
      ["720p/iframes.m3u8", "application/vnd.apple.mpegurl"],
      ["360p/index.m3u8", "application/vnd.apple.mpegurl"],
      ["360p/iframes.m3u8", "application/vnd.apple.mpegurl"],
      ["audio/index.m3u8", "application/vnd.apple.mpegurl"],
      ["manifest.json", "application/json"],
      ["master.m3u8", "application/vnd.apple.mpegurl"],
    ]);
    const body = (path: string) => files.find((f) => f.path === path)?.body;
    expect(body("720p/index.m3u8")).toBe(MEDIA_4_4_2);
    expect(body("720p/iframes.m3u8")).toBe(IFRAMES_720P);
    expect(body("360p/index.m3u8")).toBe(MEDIA_4_4_2);
    expect(body("audio/index.m3u8")).toBe(MEDIA_4_4_2);
    expect(body("master.m3u8")).toBe(MASTER);
  });

  it("describes the result in manifest.json", () => {
    const manifest = JSON.parse(buildOutputs(JOB, partsMap(PARTS)).find((f) => f.path === "manifest.json")!.body);
    expect(manifestSchema.safeParse(manifest).error).toBeUndefined();
    expect(manifest.id).toBe("clip-1");
    expect(manifest.status).toBe("ready");
    expect(manifest.durationSeconds).toBe(10);
    expect(manifest.source).toEqual({
      originalName: "holiday.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2", sizeBytes: 5_000_000, durationSeconds: 10,
      video: { codec: "h264", width: 1280, height: 720, rotation: 0, frameRate: 30, hdr: null },
      audio: { codec: "aac", channels: 2, sampleRate: 48_000 },
    });
    expect(manifest.renditions[0]).toEqual({
      name: "720p", width: 1280, height: 720, codecs: "avc1.64001f", frameRate: 30, bandwidth: 3_000_000, averageBandwidth: 2_800_000,
      playlist: "720p/index.m3u8", iframePlaylist: "720p/iframes.m3u8",
      segments: ["720p/seg-00000.ts", "720p/seg-00001.ts", "720p/seg-00002.ts"],
      quality: null,
    });
    expect(manifest.qualityWarnings).toEqual([]);
    expect(manifest.audio).toEqual({
      codecs: "mp4a.40.2", channels: 2, sampleRate: 48_000, bandwidth: 132_000, averageBandwidth: 131_200,
      playlist: "audio/index.m3u8", segments: ["audio/seg-00000.ts", "audio/seg-00001.ts", "audio/seg-00002.ts"],
    });
    expect(manifest.thumbnails).toEqual(THUMBNAILS);
    expect(manifest.files).toEqual([
      "360p/iframes.m3u8", "360p/index.m3u8", "360p/seg-00000.ts", "360p/seg-00001.ts", "360p/seg-00002.ts",
      "720p/iframes.m3u8", "720p/index.m3u8", "720p/seg-00000.ts", "720p/seg-00001.ts", "720p/seg-00002.ts",
      "audio/index.m3u8", "audio/seg-00000.ts", "audio/seg-00001.ts", "audio/seg-00002.ts",
      "manifest.json", "master.m3u8",
      "thumbnails/poster-320.webp", "thumbnails/poster.jpg", "thumbnails/storyboard-0.jpg", "thumbnails/storyboard.vtt",
    ]);
    expect(manifest.timings).toEqual({
      createdAt: "2024-05-01T10:00:00.000Z",
      partsFinishedAt: "2024-05-01T10:00:07.250Z",
      processingSeconds: 7.25,
      parts: {
        audio: { startedAt: "2024-05-01T10:00:03.000Z", finishedAt: "2024-05-01T10:00:04.000Z", seconds: 1 },
        "chunk-000": { startedAt: "2024-05-01T10:00:03.000Z", finishedAt: "2024-05-01T10:00:07.250Z", seconds: 4.25 },
        "chunk-001": { startedAt: "2024-05-01T10:00:03.000Z", finishedAt: "2024-05-01T10:00:05.500Z", seconds: 2.5 },
        thumbnails: { startedAt: "2024-05-01T10:00:03.000Z", finishedAt: "2024-05-01T10:00:06.000Z", seconds: 3 },
      },
    });
  });

  it("publishes each rendition's quality (frame-weighted over the chunks, and per chunk) and flags a chunk well below its neighbour", () => {
    const measured = PARTS.map((part) =>
      part.part === "chunk-000"
        ? { ...part, quality: { "720p": { psnr: 40, ssim: 0.98, frames: 240 }, "360p": { psnr: 30, ssim: 0.9, frames: 240 } } }
        : part.part === "chunk-001"
          ? { ...part, quality: { "720p": { psnr: 42, ssim: 0.99, frames: 60 }, "360p": { psnr: 38, ssim: 0.97, frames: 60 } } }
          : part,
    );
    const manifest = JSON.parse(buildOutputs(JOB, partsMap(measured)).find((f) => f.path === "manifest.json")!.body);
    expect(manifest.renditions.map((r: { name: string; quality: unknown }) => [r.name, r.quality])).toEqual([
      ["720p", { psnr: 40.4, ssim: 0.982, frames: 300, chunks: [{ chunk: 0, psnr: 40, ssim: 0.98, frames: 240 }, { chunk: 1, psnr: 42, ssim: 0.99, frames: 60 }] }],
      ["360p", { psnr: 31.6, ssim: 0.914, frames: 300, chunks: [{ chunk: 0, psnr: 30, ssim: 0.9, frames: 240 }, { chunk: 1, psnr: 38, ssim: 0.97, frames: 60 }] }],
    ]);
    expect(manifest.qualityWarnings).toEqual([
      { rendition: "360p", chunk: 0, psnr: 30, neighbourPsnr: 38, message: "chunk 0 of 360p measured 30.0 dB PSNR, more than 4 dB below its neighbours (38.0 dB)" },
    ]);
  });

  it("gives identical bytes when called twice, whatever order the parts were listed in", () => {
    const first = buildOutputs(JOB, partsMap(PARTS));
    const second = buildOutputs(structuredClone(JOB), partsMap(structuredClone([...PARTS].reverse())));
    expect(second).toEqual(first);
    expect(second.map((f) => f.body).join("\0")).toBe(first.map((f) => f.body).join("\0"));
  });

  it("writes a video-only master without an audio group", () => {
    const job: ActiveJob = { ...JOB, plan: { ...JOB.plan, hasAudio: false, parts: ["chunk-000", "chunk-001", "thumbnails"] } };
    const files = buildOutputs(job, partsMap(PARTS.filter((p) => p.part !== "audio")));
    expect(files.map((f) => f.path)).toEqual([
      "720p/index.m3u8", "720p/iframes.m3u8", "360p/index.m3u8", "360p/iframes.m3u8", "manifest.json", "master.m3u8",
    ]);
    expect(files[files.length - 1]!.body).toBe(`#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-STREAM-INF:BANDWIDTH=840000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.4d401e",RESOLUTION=640x360,FRAME-RATE=30.000
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2800000,CODECS="avc1.64001f",RESOLUTION=1280x720,FRAME-RATE=30.000
720p/index.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=60160,AVERAGE-BANDWIDTH=41511,CODECS="avc1.4d401e",RESOLUTION=640x360,URI="360p/iframes.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=188000,AVERAGE-BANDWIDTH=130848,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="720p/iframes.m3u8"
`);
  });

  it("refuses to publish with a part or a codec string missing", () => {
    expect(() => buildOutputs(JOB, partsMap(PARTS.filter((p) => p.part !== "chunk-001")))).toThrow("missing part chunk-001");
    expect(() => buildOutputs(JOB, partsMap(PARTS.filter((p) => p.part !== "audio")))).toThrow("missing audio segments");
    const noCodec = PARTS.map((p) => (p.part === "chunk-000" ? { ...p, codecs: { "720p": "avc1.64001f" } } : p));
    expect(() => buildOutputs(JOB, partsMap(noCodec))).toThrow("no codec string recorded for 360p");
  });
});
