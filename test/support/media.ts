import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, open, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inject } from "vitest";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";

const run = promisify(execFile);

/** Real test media committed with the repository (test/fixtures/MANIFEST.md lists each file). */
export const FIXTURES_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "../fixtures");

export function mediaFile(name: string): string {
  const path = join(FIXTURES_DIR, name);
  if (!existsSync(path)) throw new Error(`test media missing: ${path} (see test/fixtures/MANIFEST.md)`);
  return path;
}

declare module "vitest" {
  export interface ProvidedContext {
    /** A folder made by test/support/global-setup.ts for media the tests generate; removed after the run. */
    generatedMediaDir: string;
  }
}

type Recipe = (ffmpeg: string, output: string, scratch: string) => Promise<void>;

const quiet = ["-v", "error", "-nostdin", "-y"];
/** 9 s of moving test picture (and a tone) for the timestamp-less sources. */
const picture = (rate = "25") => ["-f", "lavfi", "-i", `testsrc2=s=320x240:r=${rate}:d=9`];
const pictureAndSound = [...picture(), "-f", "lavfi", "-i", "sine=f=440:r=48000:d=9", "-ac", "2"];

async function ffmpegRun(ffmpeg: string, args: string[]): Promise<void> {
  await run(ffmpeg, [...quiet, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Media made with ffmpeg when the test runs, standing in for real files whose licence keeps them
 * out of an Apache-2.0 repository, for real files too large for the fixture budget, for kinds of
 * source no small licensed file was found for, or for broken inputs derived from a committed
 * fixture. Each keeps the properties its tests rely on (listed in
 * test/fixtures/MANIFEST.md).
 */
const STAND_INS = {
  /** For the GPL diver.mov: 14 s of intra-only MJPEG 4:2:2 full range, 25 fps, MP2 audio, in QuickTime; the picture darkens over time. */
  "mjpeg-422-mp2.mov": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [
      "-f", "lavfi", "-i", "testsrc2=s=640x480:r=25:d=14,eq=brightness='0.35-t/20':eval=frame",
      "-f", "lavfi", "-i", "sine=f=330:r=44100:d=14",
      "-ac", "2", "-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "6", "-c:a", "mp2", "-b:a", "192k", "-f", "mov", output,
    ]);
  },
  /** For the GPL underrun-ntsc.dv: one interlaced (bottom field first) NTSC DV frame, 720x480 4:1:1, SAR 8:9, no audio. */
  "dv-ntsc-one-frame.dv": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [
      "-f", "lavfi", "-i", "testsrc=s=720x480:r=30000/1001", "-frames:v", "1", "-aspect", "4:3",
      "-c:v", "dvvideo", "-pix_fmt", "yuv411p", "-flags", "+ildct+ilme", "-top", "0", "-f", "dv", output,
    ]);
  },
  /** For bbb_1920x1080_60fps_vp8.webm (over the size budget): 1 s of VP8 at 60 fps and 8 Mb/s with 5.1 Vorbis audio. */
  "vp8-60fps-vorbis-5.1.webm": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [
      "-f", "lavfi", "-i", "testsrc2=s=640x360:r=60:d=1", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=1",
      "-af", "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0",
      "-c:v", "libvpx", "-b:v", "8M", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libvorbis", output,
    ]);
  },
  /**
   * For pixel-motion-photo-2-hevc-tracks.mp4 (over the size budget): two HEVC tracks, both shown
   * rotated -90 and full range: #0 the 58-frame VFR motion, #1 a larger one-frame still that
   * ffmpeg's default stream choice would pick.
   */
  "two-hevc-tracks.mp4": async (ffmpeg, output, scratch) => {
    const encoded = join(scratch, "encoded.mp4");
    await ffmpegRun(ffmpeg, [
      "-f", "lavfi", "-i", "testsrc2=s=480x360:r=30:d=2.1,settb=1/1000,setpts='N*36+if(gte(N\\,30)\\,(N-30)*30\\,0)'",
      "-f", "lavfi", "-i", "testsrc=s=960x720:r=1:d=1",
      "-map", "0:v", "-map", "1:v", "-frames:v:0", "58", "-frames:v:1", "1", "-fps_mode:v:0", "passthrough",
      "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuvj420p", encoded,
    ]);
    // ffmpeg 5.1 turns `rotate` into a display matrix only when stream-copying.
    await ffmpegRun(ffmpeg, [
      "-i", encoded, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=270", "-metadata:s:v:1", "rotate=270",
      "-disposition:v:0", "default", "-disposition:v:1", "default", output,
    ]);
  },
  // Sources whose packets carry no (presentation) timestamps, which stream copy cannot cut as they
  // are: 9 s, low resolution, B-frames, a keyframe every 2 s, so a video spans several chunks.
  /** DivX/Xvid-style AVI: MPEG-4 Part 2 with B-frames (AVI stores no presentation times) and MP3. */
  "mpeg4-bframes.avi": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...pictureAndSound, "-c:v", "mpeg4", "-bf", "2", "-g", "50", "-q:v", "4", "-c:a", "libmp3lame", "-b:a", "96k", "-f", "avi", output]);
  },
  /** A DVD-Video program stream: MPEG-2 video with B-frames and AC-3 audio. */
  "dvd.vob": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...pictureAndSound, "-c:v", "mpeg2video", "-bf", "2", "-g", "50", "-q:v", "4", "-c:a", "ac3", "-f", "vob", output]);
  },
  /** An (S)VCD-style MPEG program stream: MPEG-2 video with B-frames and MP2 audio. */
  "svcd.mpg": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...pictureAndSound, "-c:v", "mpeg2video", "-bf", "2", "-g", "50", "-q:v", "4", "-c:a", "mp2", "-f", "mpeg", output]);
  },
  /** A raw H.264 elementary stream: no container, no timestamps at all; 30000/1001 fps in its SPS. */
  "raw.h264": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...picture("30000/1001"), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "60", "-f", "h264", output]);
  },
  /** A raw MPEG-4 Part 2 elementary stream with B-frames. */
  "raw.m4v": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...picture(), "-c:v", "mpeg4", "-bf", "2", "-g", "50", "-q:v", "4", "-f", "m4v", output]);
  },
  /** A raw MPEG-2 video elementary stream with B-frames. */
  "raw.m2v": async (ffmpeg, output) => {
    await ffmpegRun(ffmpeg, [...picture(), "-c:v", "mpeg2video", "-bf", "2", "-g", "50", "-q:v", "4", "-f", "mpeg2video", output]);
  },
  /** An interrupted upload of a phone recording whose moov was at the end: the first 2,000,000 bytes of pixel7_videoOnly_cleaned.mp4. */
  "truncated-moov-missing.mp4": async (_ffmpeg, output) => {
    await copyFile(mediaFile("pixel7_videoOnly_cleaned.mp4"), output);
    const handle = await open(output, "r+");
    try {
      await handle.truncate(2_000_000);
    } finally {
      await handle.close();
    }
  },
} satisfies Record<string, Recipe>;

export type StandInName = keyof typeof STAND_INS;

const made = new Map<StandInName, Promise<string>>();

/**
 * The path of a generated stand-in, made once per test run. Test files run in parallel workers:
 * each writes under its own name and renames into place, so a reader never sees half a file.
 */
export function standIn(name: StandInName): Promise<string> {
  let promise = made.get(name);
  if (!promise) {
    promise = generate(name);
    made.set(name, promise);
  }
  return promise;
}

async function generate(name: StandInName): Promise<string> {
  const dir = inject("generatedMediaDir");
  if (!dir) throw new Error("generatedMediaDir is not provided: run the tests through vitest.config.ts (its globalSetup makes it)");
  const path = join(dir, name);
  if (existsSync(path)) return path;
  const scratch = await mkdtemp(join(dir, ".making-"));
  try {
    const partial = join(scratch, name);
    await STAND_INS[name](resolveFfmpegBinaries().ffmpeg, partial, scratch);
    await rename(partial, path);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return path;
}
