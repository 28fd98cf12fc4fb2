import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMasterPlaylist, parseMediaPlaylist } from "../../shared/hls/parse-playlist.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { readWithIndependentParser } from "../support/independent-hls.ts";
import { leadRungAtRate, snapshotChunkTranscodes, writeFfmpegWrapper, writeTestClip } from "../support/ffmpeg-wrapper.ts";

/** One look at the published lowest rung while the job ran: its playlist, and which of its segments were there. */
interface Sighting {
  text: string;
  present: Set<string>;
  status: string;
}

/**
 * The lead rung on a generated 14 s clip (4 chunks of 4 s, 2 s segments, 360p and 240p, with
 * sound), one transcode at a time. An ffmpeg wrapper reads the source at 4× real time for the lead
 * rung's encode (`-readrate`), so its segments come half a second apart whatever the machine's
 * speed, and photographs the published tree as each chunk's transcode starts (the first once the
 * lead rung is done); the test itself polls the 240p playlist while the job runs.
 */
describe("the lead rung", () => {
  let sandbox: Sandbox;
  let tools: string;
  let source: string;
  let snapshots: string;
  let objects: string;

  beforeAll(async () => {
    tools = await mkdtemp(join(tmpdir(), "vodpipe-tools-"));
    const wrapper = join(tools, "lead-ffmpeg");
    sandbox = await createSandbox({ VODPIPE_TRANSCODE_CONCURRENCY: "1", VODPIPE_FFMPEG_PATH: wrapper });
    source = join(sandbox.root, "clip.mp4");
    await writeTestClip(source, { seconds: 14 });
    snapshots = join(sandbox.root, "snapshots");
    objects = join(sandbox.env.VODPIPE_DATA_DIR!, "objects");
    await writeFfmpegWrapper(wrapper, [
      leadRungAtRate(4),
      // The lead rung runs in its own stage beside the chunks: the first chunk is held until the
      // lead rung, the audio and the thumbnails are published, so no chunk is done when it is
      // photographed.
      snapshotChunkTranscodes({
        snapshots,
        objects,
        waitWhen: '[ "$n" -eq 0 ]',
        waitFor: ["videos/*/work/parts/rung-240p.json", "videos/*/hls/master.m3u8", "videos/*/hls/thumbnails/poster.webp", "videos/*/hls/thumbnails/storyboard.vtt"],
      }),
    ]);
    await mkdir(snapshots);
  });
  afterAll(async () => {
    await sandbox.cleanup();
    await rm(tools, { recursive: true, force: true });
  });

  it("publishes the lowest rung segment by segment before any chunk is encoded, and ends with the full ladder", async () => {
    const sightings: Sighting[] = [];
    const look = () => {
      const videos = join(objects, "videos");
      for (const id of existsSync(videos) ? readdirSync(videos) : []) {
        const hls = join(videos, id, "hls");
        let text: string;
        let status: string;
        try {
          text = readFileSync(join(hls, "240p", "index.m3u8"), "utf8");
          status = (JSON.parse(readFileSync(join(videos, id, "job.json"), "utf8")) as { status: string }).status;
        } catch {
          continue;
        }
        if (sightings.at(-1)?.text === text) continue;
        sightings.push({ text, status, present: new Set(readdirSync(join(hls, "240p"))) });
      }
    };
    const watcher = setInterval(look, 20);
    let result;
    try {
      result = await runPipeline(sandbox, source);
    } finally {
      clearInterval(watcher);
    }
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    expect(result.job.plan?.leadRung).toBe("240p");
    expect(result.job.plan?.parts).toContain("rung-240p");
    const out = result.outDir!;
    const final = parseMediaPlaylist(await readFile(join(out, "240p", "index.m3u8"), "utf8"));
    expect(final.playlistType).toBe("VOD");
    const finalUris = final.segments.map((s) => s.uri);
    expect(finalUris).toHaveLength(7);

    // While the lead rung was encoded: a growing EVENT playlist, each a prefix of the final one,
    // naming only segments already published.
    // (publish writes the VOD playlists before it marks the job ready: those are not early.)
    const seen = sightings.map((s) => ({ ...s, playlist: parseMediaPlaylist(s.text) }));
    for (const late of seen.filter((s) => s.playlist.endList)) expect(late.text).toBe(await readFile(join(out, "240p", "index.m3u8"), "utf8"));
    const early = seen.filter((s) => s.status === "processing" && !s.playlist.endList);
    const counts = early.map((s) => s.playlist.segments.length);
    expect(counts.length, "distinct 240p playlists seen while processing").toBeGreaterThanOrEqual(3);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]!);
    expect(counts[0]).toBeLessThan(finalUris.length);
    for (const sighting of early) {
      expect(sighting.playlist.playlistType).toBe("EVENT");
      expect(sighting.playlist.endList).toBe(false);
      const uris = sighting.playlist.segments.map((s) => s.uri);
      expect(uris).toEqual(finalUris.slice(0, uris.length));
      for (const uri of uris) expect(sighting.present.has(uri), uri).toBe(true);
    }

    // Before any chunk was encoded (the first held until the lead rung and the audio were done):
    // playable, with a master naming only the lead rung and the audio; the other rung not published.
    const taken = (await readdir(snapshots)).map(Number).sort((a, b) => a - b);
    expect(taken).toEqual([0, 1, 2, 3]);
    const first = join(snapshots, "0");
    const job = JSON.parse(await readFile(join(first, "job.json"), "utf8"));
    expect(job.status).toBe("processing");
    expect(job.playableAt).toEqual(expect.any(String));
    const master = parseMasterPlaylist(await readFile(join(first, "master.m3u8"), "utf8"));
    expect(master.variants.map((v) => v.uri)).toEqual(["240p/index.m3u8"]);
    const independent = readWithIndependentParser(join(first, "master.m3u8"));
    expect(independent.audioUri).toBe("audio/index.m3u8");
    expect(independent.media["240p/index.m3u8"]!.segments.map((s) => s.uri)).toEqual(finalUris);
    expect(independent.media["240p/index.m3u8"]!.endList).toBe(false);
    expect(existsSync(join(first, "360p", "index.m3u8"))).toBe(false);
    const files = (await readFile(join(first, "files.txt"), "utf8")).split("\n").filter(Boolean);
    for (const uri of independent.media["audio/index.m3u8"]!.segments.map((s) => s.uri)) expect(files).toContain(`./audio/${uri}`);
    // The poster and the storyboard are there for the early viewer too.
    expect(files).toEqual(expect.arrayContaining(["./thumbnails/poster.webp", "./thumbnails/storyboard.vtt"]));
    expect(Date.parse(result.job.playableAt!)).toBeLessThan(Date.parse(result.job.readyAt!));

    // The final ladder: both rungs, the lead rung's quality measured whole, the chunks' per chunk.
    const finalMaster = parseMasterPlaylist(await readFile(join(out, "master.m3u8"), "utf8"));
    expect(finalMaster.variants.map((v) => v.uri).sort()).toEqual(["240p/index.m3u8", "360p/index.m3u8"]);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    const byName = Object.fromEntries(manifest.renditions.map((r: { name: string }) => [r.name, r]));
    expect(byName["240p"].quality).toMatchObject({ frames: 420, chunks: [] });
    expect(byName["240p"].quality.psnr).toBeGreaterThan(25);
    expect(byName["360p"].quality.chunks.map((c: { chunk: number }) => c.chunk)).toEqual([0, 1, 2, 3]);
    expect(result.job.quality?.["240p"]).toEqual({ psnr: byName["240p"].quality.psnr, ssim: byName["240p"].quality.ssim });
    // The 360p segments line up with the lead rung's, one for one.
    const upper = parseMediaPlaylist(await readFile(join(out, "360p", "index.m3u8"), "utf8"));
    expect(upper.segments.map((s) => s.duration)).toEqual(final.segments.map((s) => s.duration));
    // Nothing of the work is left behind.
    const id = result.job.videoId;
    expect(existsSync(join(objects, "videos", id, "work", "lead-rung.json"))).toBe(false);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  }, 240_000);
});
