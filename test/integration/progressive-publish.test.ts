import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseMasterPlaylist, parseMediaPlaylist } from "../../shared/hls/parse-playlist.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { readWithIndependentParser } from "../support/independent-hls.ts";
import { snapshotChunkTranscodes, writeFfmpegWrapper, writeTestClip } from "../support/ffmpeg-wrapper.ts";

/**
 * Progressive publish from the chunks alone (no lead rung: VODPIPE_LEAD_RUNG_MAX_SECONDS=0, as for
 * a long video or a container without exact timestamps) and quality, on a generated 14 s clip (4 chunks of 4 s, 2 s segments, 360p
 * and 240p). One transcode at a time, and an ffmpeg wrapper that photographs the published tree
 * (every playlist, the file list, the job) as each chunk's transcode starts: the tree a player
 * would have found at that moment.
 */
describe("progressive publish from the chunks", () => {
  let sandbox: Sandbox;
  let tools: string;
  let source: string;
  let snapshots: string;

  beforeAll(async () => {
    tools = await mkdtemp(join(tmpdir(), "vodpipe-tools-"));
    const wrapper = join(tools, "snapshot-ffmpeg");
    sandbox = await createSandbox({ VODPIPE_TRANSCODE_CONCURRENCY: "1", VODPIPE_FFMPEG_PATH: wrapper, VODPIPE_LEAD_RUNG_MAX_SECONDS: "0" });
    source = join(sandbox.root, "clip.mp4");
    await writeTestClip(source, { seconds: 14 });
    snapshots = join(sandbox.root, "snapshots");
    await writeFfmpegWrapper(wrapper, [
      // The audio is another worker's: from the second chunk on, wait for the master, which needs
      // both it and chunk 0, so the photographs do not depend on who was faster.
      snapshotChunkTranscodes({ snapshots, objects: join(sandbox.env.VODPIPE_DATA_DIR!, "objects"), waitWhen: '[ "$n" -ge 1 ]', waitFor: ["videos/*/hls/master.m3u8"] }),
    ]);
    await mkdir(snapshots);
  });
  afterAll(async () => {
    await sandbox.cleanup();
    await rm(tools, { recursive: true, force: true });
  });

  it("publishes growing EVENT playlists before ready, then the same segments as the clean run's VOD playlists", async () => {
    const result = await runPipeline(sandbox, source);
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    const out = result.outDir!;

    // What players saw: one photograph per chunk transcode.
    const taken = (await readdir(snapshots)).map(Number).sort((a, b) => a - b);
    expect(taken).toEqual([0, 1, 2, 3]);
    const final = parseMediaPlaylist(await readFile(join(out, "240p", "index.m3u8"), "utf8"));
    expect(final.playlistType).toBe("VOD");
    expect(final.endList).toBe(true);
    const finalUris = final.segments.map((s) => s.uri);
    expect(finalUris).toHaveLength(7);

    const counts: number[] = [];
    for (const n of taken) {
      const dir = join(snapshots, String(n));
      const job = JSON.parse(await readFile(join(dir, "job.json"), "utf8"));
      expect(job.status).toBe("processing");
      if (!existsSync(join(dir, "master.m3u8"))) {
        expect(job.playableAt).toBeUndefined();
        counts.push(0);
        continue;
      }
      expect(job.playableAt, `snapshot ${n}`).toEqual(expect.any(String));
      const files = new Set((await readFile(join(dir, "files.txt"), "utf8")).split("\n").filter(Boolean).map((f) => f.replace(/^\.\//, "")));
      const master = parseMasterPlaylist(await readFile(join(dir, "master.m3u8"), "utf8"));
      expect(master.variants.map((v) => v.uri).sort()).toEqual(["240p/index.m3u8", "360p/index.m3u8"]);
      const independent = readWithIndependentParser(join(dir, "master.m3u8"));
      expect(independent.audioUri).toBe("audio/index.m3u8");
      for (const [uri, playlist] of Object.entries(independent.media)) {
        expect(playlist.playlistType, `${n}: ${uri}`).toBe("EVENT");
        expect(playlist.endList, `${n}: ${uri}`).toBe(false);
        const ours = parseMediaPlaylist(await readFile(join(dir, uri), "utf8"));
        expect(ours.playlistType).toBe("EVENT");
        expect(ours.endList).toBe(false);
        expect(ours.segments.map((s) => s.uri)).toEqual(playlist.segments.map((s) => s.uri));
        // Every segment named is already published.
        const folder = uri.split("/")[0];
        for (const segment of ours.segments) expect(files.has(`${folder}/${segment.uri}`), `${n}: ${folder}/${segment.uri}`).toBe(true);
      }
      const lowest = independent.media["240p/index.m3u8"]!.segments.map((s) => s.uri);
      // A prefix of the final playlist: same URIs, in order, from the first.
      expect(lowest).toEqual(finalUris.slice(0, lowest.length));
      counts.push(lowest.length);
    }
    // Playable after the first chunk, and growing with every chunk after it.
    expect(counts[1]).toBeGreaterThan(0);
    for (let i = 2; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]!);

    expect(Date.parse(result.job.playableAt!)).toBeLessThan(Date.parse(result.job.readyAt!));

    // A clean run (no observer; the same transcode settings) ends with the same playlists.
    const clean = await createSandbox({ VODPIPE_TRANSCODE_CONCURRENCY: "1", VODPIPE_LEAD_RUNG_MAX_SECONDS: "0" });
    try {
      const cleanResult = await runPipeline(clean, source);
      expect(cleanResult.job.status).toBe("ready");
      for (const playlist of ["240p/index.m3u8", "360p/index.m3u8", "audio/index.m3u8"]) {
        expect(await readFile(join(out, playlist), "utf8"), playlist).toBe(await readFile(join(cleanResult.outDir!, playlist), "utf8"));
      }
      // Measured rates vary by a few bytes from one encode to the next (x264's threads): the rest is the same.
      const withoutRates = (text: string) => text.replace(/BANDWIDTH=\d+/g, "BANDWIDTH=n");
      expect(withoutRates(await readFile(join(out, "master.m3u8"), "utf8"))).toBe(withoutRates(await readFile(join(cleanResult.outDir!, "master.m3u8"), "utf8")));
    } finally {
      await clean.cleanup();
    }

    // Quality, per rendition and per chunk, in the manifest and the job.
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    for (const rendition of manifest.renditions) {
      const q = rendition.quality;
      expect(q, rendition.name).not.toBeNull();
      expect(q.psnr).toBeGreaterThan(25);
      expect(q.psnr).toBeLessThan(60);
      expect(q.ssim).toBeGreaterThan(0.8);
      expect(q.ssim).toBeLessThanOrEqual(1);
      expect(q.frames).toBe(420);
      expect(q.chunks.map((c: { chunk: number }) => c.chunk)).toEqual([0, 1, 2, 3]);
      for (const chunk of q.chunks) {
        expect(chunk.psnr).toBeGreaterThan(25);
        expect(chunk.ssim).toBeGreaterThan(0.8);
      }
      const weighted = q.chunks.reduce((sum: number, c: { psnr: number; frames: number }) => sum + c.psnr * c.frames, 0) / 420;
      expect(q.psnr).toBeCloseTo(weighted, 2);
      expect(result.job.quality?.[rendition.name]).toEqual({ psnr: q.psnr, ssim: q.ssim });
    }
    expect(manifest.qualityWarnings).toEqual([]);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  }, 240_000);
});
