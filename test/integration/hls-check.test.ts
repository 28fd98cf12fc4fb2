import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckCommand } from "../../app/cli/check-command.ts";
import { measureBandwidth } from "../../shared/hls/bandwidth.ts";
import { checkHls, type HlsReport } from "../../shared/hls/check-hls.ts";
import { RULES } from "../../shared/hls/conformance-model.ts";
import { h264CodecString } from "../../shared/hls/h264-codec-string.ts";
import { writeIFramePlaylist, writeMasterPlaylist, writeMediaPlaylist, type MediaSegment, type VariantStream } from "../../shared/hls/playlists.ts";
import { readFirstVideoAccessUnit } from "../../shared/hls/mpeg-ts.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile } from "../support/media.ts";

const run = promisify(execFile);
const FFMPEG = resolveFfmpegBinaries().ffmpeg;
const binaries = { ffmpeg: FFMPEG };

// m3u8-parser (video.js) has no type declarations; it reads ffmpeg's own playlists here, so the
// EXTINF values we publish do not come from our own parser.
const { Parser } = createRequire(import.meta.url)("m3u8-parser") as {
  Parser: new () => { push(text: string): void; end(): void; manifest: { segments: { uri: string; duration: number }[] } };
};

// androidx_sample.avi: 98 frames at 24000/1001 fps (4.087 s), MP3 audio 48 kHz.
const VIDEO_SECONDS = (98 * 1001) / 24000;
const RUNGS = [
  { name: "360p", height: 360, kbps: 600 },
  { name: "240p", height: 240, kbps: 300 },
];

let work: string;
let tree: string;

/**
 * Two H.264 renditions and an AAC rendition of a real clip, cut by ffmpeg's HLS muxer into 2 s
 * MPEG-TS segments (keyframes forced every 2 s, no scene cuts), then published with OUR
 * playlist writers from the real segment durations and sizes.
 */
async function buildTree(root: string): Promise<void> {
  const source = mediaFile("androidx_sample.avi");
  for (const folder of [...RUNGS.map((rung) => rung.name), "audio"]) await mkdir(join(root, folder));
  const hls = (folder: string) => [
    "-f", "hls", "-hls_time", "2", "-hls_segment_type", "mpegts", "-hls_playlist_type", "vod",
    "-hls_segment_filename", join(root, folder, "seg-%05d.ts"), join(root, folder, "ffmpeg.m3u8"),
  ];
  const videoOutputs = RUNGS.flatMap((rung) => [
    "-map", "0:v:0", "-vf", `scale=-2:${rung.height}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", `${rung.kbps}k`, "-threads", "1",
    "-force_key_frames", "expr:gte(t,n_forced*2)", "-sc_threshold", "0",
    ...hls(rung.name),
  ]);
  // The AAC encoder's 1024 priming samples stay on the TS timeline, so the audio is cut one AAC
  // frame short of the video to end within one frame of it.
  const audioOutput = ["-map", "0:a:0", "-c:a", "aac", "-ac", "2", "-ar", "48000", "-b:a", "96k", "-t", (VIDEO_SECONDS - 1024 / 48000).toFixed(6), ...hls("audio")];
  await run(FFMPEG, ["-nostdin", "-hide_banner", "-loglevel", "error", "-i", source, ...videoOutputs, ...audioOutput]);

  const segmentsOf = async (folder: string): Promise<MediaSegment[]> => {
    const parser = new Parser();
    parser.push(await readFile(join(root, folder, "ffmpeg.m3u8"), "utf8"));
    parser.end();
    await rm(join(root, folder, "ffmpeg.m3u8"));
    return Promise.all(
      parser.manifest.segments.map(async (segment) => {
        const path = join(root, folder, segment.uri);
        const iframe = readFirstVideoAccessUnit(await readFile(path))?.range;
        return { uri: segment.uri, duration: segment.duration, bytes: (await stat(path)).size, ...(iframe ? { iframe } : {}) };
      }),
    );
  };

  const variants: VariantStream[] = [];
  for (const rung of RUNGS) {
    const segments = await segmentsOf(rung.name);
    await writeFile(join(root, rung.name, "index.m3u8"), writeMediaPlaylist({ segments }));
    await writeFile(join(root, rung.name, "iframes.m3u8"), writeIFramePlaylist({ segments }));
    // The codec string from ffmpeg's own Annex-B extraction, not from the checker's TS reader.
    const { stdout } = await run(
      FFMPEG,
      ["-hide_banner", "-loglevel", "error", "-i", join(root, rung.name, segments[0]!.uri), "-map", "0:v:0", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-frames:v", "1", "-f", "h264", "-"],
      { encoding: "buffer" },
    );
    const video = measureBandwidth(segments);
    const iframes = measureBandwidth(segments.map((segment) => ({ duration: segment.duration, bytes: segment.iframe!.length })));
    variants.push({
      uri: `${rung.name}/index.m3u8`,
      bandwidth: video.peak,
      averageBandwidth: video.average,
      codecs: h264CodecString(stdout)!,
      resolution: { width: rung.height === 360 ? 864 : 576, height: rung.height },
      frameRate: 24000 / 1001,
      iframes: { uri: `${rung.name}/iframes.m3u8`, bandwidth: iframes.peak, averageBandwidth: iframes.average },
    });
  }
  const audioSegments = await segmentsOf("audio");
  await writeFile(join(root, "audio", "index.m3u8"), writeMediaPlaylist({ segments: audioSegments }));
  await writeFile(
    join(root, "master.m3u8"),
    writeMasterPlaylist({
      variants,
      audio: { groupId: "audio", name: "Main", uri: "audio/index.m3u8", channels: 2, default: true, bandwidth: measureBandwidth(audioSegments) },
    }),
  );
}

/** A copy of the good tree with one thing broken. */
async function brokenCopy(name: string, breakIt: (root: string) => Promise<void>): Promise<string> {
  const root = join(work, name);
  await cp(tree, root, { recursive: true });
  await breakIt(root);
  return root;
}

async function edit(path: string, change: (text: string) => string): Promise<void> {
  const before = await readFile(path, "utf8");
  const after = change(before);
  if (after === before) throw new Error(`the edit changed nothing in ${path}`);
  await writeFile(path, after);
}

/** Changes the EXT-X-STREAM-INF line of the variant whose URI follows it. */
function editVariant(master: string, uri: string, change: (line: string) => string): string {
  const lines = master.split("\n");
  const index = lines.indexOf(uri);
  lines[index - 1] = change(lines[index - 1]!);
  return lines.join("\n");
}

function failedRules(report: HlsReport): string[] {
  return [...new Set(report.failures.map((failure) => failure.rule))].sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "vodpipe-hls-check-"));
  tree = join(work, "good");
  await mkdir(tree);
  await buildTree(tree);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("checkHls on a real HLS tree", () => {
  it("passes every rule on the tree as published", async () => {
    const report = await checkHls(tree, { binaries });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.master).toBe(join(tree, "master.m3u8"));
    expect([...new Set(report.checks.map((check) => check.rule))].sort()).toEqual([...RULES].sort());
    expect(report.renditions.map((rendition) => [rendition.name, rendition.kind, rendition.segments, rendition.width])).toEqual([
      ["360p/index.m3u8", "video", 3, 864],
      ["240p/index.m3u8", "video", 3, 576],
      ["audio/index.m3u8", "audio", 3, undefined],
    ]);
    expect(report.renditions[2]?.codec).toBe("mp4a.40.2");
    // Decoded from the segments, within one frame of the source's 98 frames.
    expect(Math.abs(report.renditions[0]!.decodedDuration! - VIDEO_SECONDS)).toBeLessThan(1001 / 24000);
  });

  it("passes with the npm-bundled 2018 ffmpeg too (the zero-setup path)", async () => {
    const bundled = resolveFfmpegBinaries({ forceBundled: true });
    const report = await checkHls(tree, { binaries: bundled });
    expect(report.failures).toEqual([]);
    // Both ffmpeg builds measure the same timestamps, sizes and codecs.
    expect(report.renditions).toEqual((await checkHls(tree, { binaries })).renditions);
  });

  it("checks a lone media playlist, telling audio from video by its segments", async () => {
    const report = await checkHls(join(tree, "audio", "index.m3u8"), { binaries });
    expect(report.failures).toEqual([]);
    expect(report.master).toBeNull();
    expect(report.renditions.map((rendition) => [rendition.name, rendition.kind, rendition.codec])).toEqual([["index.m3u8", "audio", "mp4a.40.2"]]);
  });

  it("fails bandwidth-peak when BANDWIDTH is not the measured peak", async () => {
    const root = await brokenCopy("wrong-bandwidth", (dir) =>
      edit(join(dir, "master.m3u8"), (text) =>
        editVariant(text, "360p/index.m3u8", (line) => line.replace(/BANDWIDTH=(\d+)/, (_, value: string) => `BANDWIDTH=${Math.round(Number(value) * 0.7)}`)),
      ),
    );
    const report = await checkHls(root, { binaries });
    expect(failedRules(report)).toEqual(["bandwidth-peak"]);
    expect(report.failures[0]?.rendition).toBe("360p/index.m3u8");
  });

  it("fails codecs when CODECS names another profile/level", async () => {
    const root = await brokenCopy("wrong-codecs", (dir) =>
      edit(join(dir, "master.m3u8"), (text) => editVariant(text, "240p/index.m3u8", (line) => line.replace(/CODECS="avc1\.[0-9A-F]{6}/, 'CODECS="avc1.640028'))),
    );
    const report = await checkHls(root, { binaries });
    expect(failedRules(report)).toEqual(["codecs"]);
    expect(report.failures[0]?.detail).toMatch(/^CODECS declares video avc1\.640028, the stream is avc1\.42C0/);
  });

  it("fails boundaries, joins and duration when one rendition drops a segment", async () => {
    const root = await brokenCopy("dropped-segment", (dir) =>
      edit(join(dir, "240p", "index.m3u8"), (text) => text.replace(/#EXTINF:[\d.]+,\nseg-00001\.ts\n/, "")),
    );
    const report = await checkHls(root, { binaries });
    expect(failedRules(report)).toEqual(
      expect.arrayContaining(["aligned-boundaries", "continuous-timestamps", "duration-matches-decoded"]),
    );
    expect(report.failures.find((failure) => failure.rule === "continuous-timestamps")).toMatchObject({
      rendition: "240p/index.m3u8",
      segment: 1,
    });
  });

  it("reports a missing segment file and a URI that leaves the tree, without following it", async () => {
    const root = await brokenCopy("missing-file", async (dir) => {
      await rm(join(dir, "360p", "seg-00002.ts"));
      await edit(join(dir, "audio", "index.m3u8"), (text) => text.replace("seg-00000.ts", "../../good/audio/seg-00000.ts"));
    });
    const report = await checkHls(root, { binaries });
    const unreadable = report.failures.filter((failure) => failure.rule === "files-readable");
    expect(unreadable).toEqual([
      { rule: "files-readable", ok: false, detail: "seg-00002.ts: file not found", rendition: "360p/index.m3u8", segment: 2 },
      {
        rule: "files-readable",
        ok: false,
        detail: "../../good/audio/seg-00000.ts: resolves outside the stream's folder",
        rendition: "audio/index.m3u8",
        segment: 0,
      },
    ]);
  });
});

describe("checkHls and symbolic links", () => {
  it("follows no symbolic link out of the tree, for segments, media playlists or the master", async () => {
    const root = await brokenCopy("symlinks-out", async (dir) => {
      // Real, readable files: only where the links lead makes them wrong.
      await rm(join(dir, "360p", "seg-00001.ts"));
      await symlink(join(tree, "360p", "seg-00001.ts"), join(dir, "360p", "seg-00001.ts"));
      await rm(join(dir, "audio", "index.m3u8"));
      await symlink(join(tree, "audio", "index.m3u8"), join(dir, "audio", "index.m3u8"));
      // A link that stays inside the tree is followed as before.
      await rename(join(dir, "240p", "seg-00000.ts"), join(dir, "240p", "first.ts"));
      await symlink("first.ts", join(dir, "240p", "seg-00000.ts"));
    });
    const report = await checkHls(root, { binaries });
    const unreadable = report.failures.filter((failure) => failure.rule === "files-readable");
    expect(unreadable).toEqual([
      { rule: "files-readable", ok: false, detail: "playlist: a symbolic link that leads out of the stream's folder is not followed", rendition: "audio/index.m3u8" },
      {
        rule: "files-readable",
        ok: false,
        detail: "seg-00001.ts: a symbolic link that leads out of the stream's folder is not followed",
        rendition: "360p/index.m3u8",
        segment: 1,
      },
    ]);

    const linkedMaster = join(work, "linked-master");
    await mkdir(linkedMaster);
    await symlink(join(tree, "master.m3u8"), join(linkedMaster, "master.m3u8"));
    const masterReport = await checkHls(linkedMaster, { binaries });
    expect(masterReport.ok).toBe(false);
    expect(masterReport.failures.map((failure) => failure.detail)).toEqual([
      `${join(linkedMaster, "master.m3u8")}: a symbolic link that leads out of the stream's folder is not followed`,
    ]);
  });
});

describe("vodpipe check", () => {
  function capture() {
    let stdout = "";
    let stderr = "";
    const stream = (append: (text: string) => void) => ({ write: (chunk: string) => (append(chunk), true) }) as unknown as NodeJS.WritableStream;
    return {
      io: { stdout: stream((text) => (stdout += text)), stderr: stream((text) => (stderr += text)), env: {} },
      out: () => stdout,
      err: () => stderr,
    };
  }

  it("prints the JSON report and exits 0 on a conformant tree, 1 on a broken one", async () => {
    const good = capture();
    expect(await runCheckCommand([join(tree, "master.m3u8")], good.io, { binaries })).toBe(0);
    expect(JSON.parse(good.out())).toMatchObject({ ok: true, failures: [] });
    expect(good.err()).toMatch(/^vodpipe check: ok, \d+ checks passed\n$/);

    const broken = await brokenCopy("cli-broken", (dir) => edit(join(dir, "audio", "index.m3u8"), (text) => text.replace("#EXT-X-ENDLIST\n", "")));
    const bad = capture();
    expect(await runCheckCommand([broken], bad.io, { binaries })).toBe(1);
    expect(JSON.parse(bad.out()).failures).toEqual([
      { rule: "endlist", ok: false, detail: "#EXT-X-ENDLIST is missing", rendition: "audio/index.m3u8" },
    ]);
  });

  it("exits 2 on a usage error", async () => {
    const none = capture();
    expect(await runCheckCommand([], none.io, { binaries })).toBe(2);
    expect(none.err()).toBe("usage: vodpipe check <dir | master.m3u8>\n");
    expect(await runCheckCommand(["a", "b"], capture().io, { binaries })).toBe(2);
    expect(await runCheckCommand(["--verbose"], capture().io, { binaries })).toBe(2);
  });
});
