import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegVersion, resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { mediaFile } from "../support/media.ts";

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/vodpipe.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in its own process, with exactly the environment given (plus HOME). */
function vodpipe(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { HOME: process.env.HOME ?? "/tmp", ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Doctor's report as "status | subject | detail" rows (its columns are padded with spaces). */
const rows = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => /^(ok|warn|FAIL) /.test(line))
    .map((line) => line.split(/ {2,}/).join(" | "));

describe("vodpipe doctor", () => {
  // The ffmpeg the app itself would pick from this machine's PATH.
  const machine = resolveFfmpegBinaries({ searchPath: process.env.PATH });
  let root: string;
  let data: string;
  let noFfmpegPath: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "vodpipe-doctor-"));
    data = join(root, "data");
    // A PATH with node on it and no ffmpeg or ffprobe.
    noFfmpegPath = join(root, "bin");
    await mkdir(noFfmpegPath);
    await symlink(process.execPath, join(noFfmpegPath, "node"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("names the machine's ffmpeg and ffprobe, their versions and where they came from, and passes", async () => {
    expect(machine.source.ffmpeg).toBe("system");
    const run = await vodpipe(["doctor"], { PATH: process.env.PATH!, VODPIPE_DATA_DIR: data, VODPIPE_TMP_DIR: root });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(rows(run.stdout)).toEqual([
      `ok | ffmpeg | ${machine.ffmpeg} (first on PATH): ${ffmpegVersion(machine.ffmpeg)}`,
      `ok | ffprobe | ${machine.ffprobe} (first on PATH): ${ffmpegVersion(machine.ffprobe)}`,
      "ok | ffmpeg has | what every job needs (libx264, aac, hls, matroska, mpegts, framecrc, rawvideo, scale, fps, format, setsar, pad, setpts, aresample)",
      "ok | ffmpeg has | HDR tone mapping (zscale, tonemap)",
      `ok | data folder | ${data}: not there yet; it will be made in ${root} (writable)`,
      `ok | temp folder | ${root}: writable`,
    ]);
    expect(run.stdout).toContain("vodpipe doctor: everything required is there\n");
  });

  it("falls back to the bundled builds without ffmpeg on PATH, and warns about their age", async () => {
    const run = await vodpipe(["doctor"], { PATH: noFfmpegPath, VODPIPE_DATA_DIR: data });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = rows(run.stdout);
    expect(report[0]).toMatch(/^ok \| ffmpeg \| \S+@ffmpeg-installer\S+ \(npm-bundled: no ffmpeg on PATH and VODPIPE_FFMPEG_PATH unset\): ffmpeg version/);
    expect(report[1]).toMatch(/^warn \| ffmpeg \| using the npm-bundled ffmpeg, a build from 2018 \(\d+ years old\), to read untrusted uploads/);
    expect(report[3]).toMatch(/^warn \| ffprobe \| using the npm-bundled ffprobe, a build from 20\d\d/);
  });

  it("has `vodpipe process` warn about the bundled builds' age at start-up", async () => {
    // An upload that is not a video: ingest rejects it at once, after the start-up warnings.
    const run = await vodpipe(["process", mediaFile("broken_html_page.mp4"), "--out", join(root, "out-bundled")], { PATH: noFfmpegPath, VODPIPE_DATA_DIR: data });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/"msg":"using the npm-bundled ffmpeg, a build from 2018 \(\d+ years old\), to read untrusted uploads/);
    expect(run.stderr).toMatch(/"msg":"using the npm-bundled ffprobe, a build from 20\d\d/);
  });

  it("fails on a VODPIPE_FFMPEG_PATH that is not there", async () => {
    const run = await vodpipe(["doctor"], { PATH: process.env.PATH!, VODPIPE_DATA_DIR: data, VODPIPE_FFMPEG_PATH: join(root, "no-such-ffmpeg") });
    expect(run.code).toBe(1);
    expect(rows(run.stdout)[0]).toBe(`FAIL | ffmpeg | ffmpeg at ${join(root, "no-such-ffmpeg")} (configured) is not an executable file`);
    expect(run.stdout).toContain("vodpipe doctor: 1 problem\n");
  });

  it("fails on a program that is not ffmpeg", async () => {
    const run = await vodpipe(["doctor"], { PATH: process.env.PATH!, VODPIPE_DATA_DIR: data, VODPIPE_FFMPEG_PATH: "/bin/true" });
    expect(run.code).toBe(1);
    expect(rows(run.stdout)).toContain("FAIL | ffmpeg has | /bin/true listed no encoders: is it ffmpeg?");
  });

  describe("an ffmpeg without libx264", () => {
    let fake: string;
    beforeAll(async () => {
      // Answers -encoders with AAC alone and hands everything else to the real ffmpeg.
      fake = join(root, "ffmpeg-without-x264");
      await writeFile(
        fake,
        `#!/bin/sh\nif [ "$1" = "-encoders" ]; then printf 'Encoders:\\n A..... aac                  AAC (Advanced Audio Coding)\\n'; exit 0; fi\nexec "${machine.ffmpeg}" "$@"\n`,
      );
      await chmod(fake, 0o755);
    });

    it("is reported by doctor, naming what is missing", async () => {
      const run = await vodpipe(["doctor"], { PATH: process.env.PATH!, VODPIPE_DATA_DIR: data, VODPIPE_FFMPEG_PATH: fake });
      expect(run.code).toBe(1);
      expect(rows(run.stdout)).toContain(
        `FAIL | ffmpeg has | the ffmpeg at ${fake} lacks encoder libx264; install a full build (Debian/Ubuntu: apt-get install ffmpeg) or point VODPIPE_FFMPEG_PATH at one`,
      );
    });

    it("stops `vodpipe process` before any job starts", async () => {
      const run = await vodpipe(["process", mediaFile("androidx_sample.avi"), "--out", join(root, "out")], {
        PATH: process.env.PATH!,
        VODPIPE_DATA_DIR: data,
        VODPIPE_FFMPEG_PATH: fake,
      });
      expect(run.code, run.stderr).toBe(69);
      expect(run.stderr).toContain(`vodpipe: the ffmpeg at ${fake} lacks encoder libx264`);
      expect(run.stderr).not.toContain("processing");
    });
  });

  describe("S3 and SQS endpoints", () => {
    let server: Server;
    let answering: string;
    let closed: string;
    beforeAll(async () => {
      server = createServer((_request, response) => response.writeHead(403).end());
      await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
      answering = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const gone = createServer();
      await new Promise<void>((listening) => gone.listen(0, "127.0.0.1", listening));
      closed = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
      await new Promise((shut) => gone.close(shut));
    });
    afterAll(async () => {
      await new Promise((shut) => server.close(shut));
    });

    it("passes an endpoint that answers and fails one that does not", async () => {
      const run = await vodpipe(["doctor"], {
        PATH: process.env.PATH!,
        VODPIPE_STORAGE: "s3",
        VODPIPE_S3_BUCKET: "media",
        VODPIPE_S3_ENDPOINT: answering,
        VODPIPE_QUEUE: "sqs",
        VODPIPE_SQS_ENDPOINT: closed,
        VODPIPE_AWS_REGION: "eu-west-1",
      });
      expect(run.code).toBe(1);
      const report = rows(run.stdout);
      expect(report).toContain(`ok | S3 (bucket media) | ${answering} answers (HTTP 403)`);
      expect(report).toContain(`FAIL | SQS | ${closed} does not answer: ECONNREFUSED`);
      expect(report).toContain("ok | data folder | not used (S3 storage and SQS queues)");
      expect(run.stdout).toContain("vodpipe doctor: 1 problem\n");
    });
  });
});
