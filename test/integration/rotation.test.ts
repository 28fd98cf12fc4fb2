import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";

const run = promisify(execFile);
const binaries = resolveFfmpegBinaries();

/** PSNR of two pictures (RGB average) (ffmpeg's psnr filter), the first scaled to the second's size. */
async function psnr(a: string, b: string): Promise<number> {
  const { stderr } = await run(binaries.ffmpeg, ["-hide_banner", "-i", a, "-i", b, "-lavfi", "[0:v][1:v]scale2ref[x][y];[x][y]psnr", "-f", "null", "-"]);
  const match = /average:([0-9.]+|inf)/.exec(stderr);
  if (!match) throw new Error(`no PSNR in ${stderr}`);
  return match[1] === "inf" ? 99 : Number(match[1]);
}

/**
 * A video stored on its side with a display matrix saying so, as phones record portrait video (a
 * generated 6 s clip given the matrix by a stream copy), cut into chunks and given a lead rung:
 * the lead rung reads the upload, the other rung reads Matroska chunks that carry no matrix, and
 * both must show the picture as the upload asks.
 */
describe("a rotated phone video", () => {
  let sandbox: Sandbox;
  let source: string;
  beforeAll(async () => {
    sandbox = await createSandbox();
    const plain = join(sandbox.root, "plain.mp4");
    await run(binaries.ffmpeg, [
      "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=6",
      "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", plain,
    ]);
    source = join(sandbox.root, "rotated.mp4");
    // The mov muxer writes a display matrix from the `rotate` tag (ffprobe then says -90 or 90).
    await run(binaries.ffmpeg, ["-v", "error", "-nostdin", "-y", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", source]);
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("is turned the same way in every rung, the lead rung's and the chunks', as the upload asks", async () => {
    const result = await runPipeline(sandbox, source);
    expect(result.job.reason).toBeUndefined();
    expect(result.job.status).toBe("ready");
    expect([90, 270]).toContain(result.job.source?.video.rotation);
    expect(result.job.plan?.leadRung).toBe("240p");

    // The upload's first frame as a player shows it (ffmpeg turns it by its matrix).
    const expected = join(sandbox.root, "expected.png");
    await run(binaries.ffmpeg, ["-v", "error", "-nostdin", "-y", "-i", source, "-frames:v", "1", expected]);
    // Turned the other way: what a wrong sign would give.
    const otherWay = join(sandbox.root, "other-way.png");
    await run(binaries.ffmpeg, ["-v", "error", "-nostdin", "-y", "-i", expected, "-vf", "hflip,vflip", otherWay]);
    for (const rung of ["360p", "240p"]) {
      const frame = join(sandbox.root, `${rung}.png`);
      await run(binaries.ffmpeg, ["-v", "error", "-nostdin", "-y", "-i", join(result.outDir!, rung, "seg-00000.ts"), "-frames:v", "1", frame]);
      const right = await psnr(frame, expected);
      const wrong = await psnr(frame, otherWay);
      expect(right, `${rung}: PSNR against the picture as shown`).toBeGreaterThan(20);
      expect(right - wrong, `${rung}: as shown beats turned the other way`).toBeGreaterThan(8);
    }
  }, 180_000);
});
