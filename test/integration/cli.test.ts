import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { mediaFile, standIn } from "../support/media.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";
import { ffmpegChildren } from "../support/worker-processes.ts";
import { readJob } from "../../shared/job.ts";
import { assertOutputFolderUsable } from "../../app/cli/output-folder.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";

const run = promisify(execFile);

/** Runs the real CLI as a user would: `node bin/vodpipe.js …`. Resolves with the exit code too. */
async function vodpipe(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/vodpipe.js", ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the vodpipe command", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("process writes master.m3u8 and manifest.json at the top of --out, and check passes on it", async () => {
    const out = join(sandbox.root, "cli-out");
    const result = await vodpipe(["process", mediaFile("androidx_sample.avi"), "--out", out], sandbox.env);
    expect(result.stderr).toMatch(/androidx_sample\.avi +\[█*░*\] +[0-9.]+%  encoding/);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(join(out, "master.m3u8"));
    expect(existsSync(join(out, "master.m3u8"))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.renditions.map((r: { name: string }) => r.name)).toEqual(["360p", "240p"]);
    expect(manifest.thumbnails.poster.files.length).toBeGreaterThan(0);
    for (const file of manifest.files as string[]) expect(existsSync(join(out, file)), file).toBe(true);
    // The tree is recognised as vodpipe's own, so a second run may replace it.
    await expect(assertOutputFolderUsable(out, sandbox.config.dataDir)).resolves.toBeUndefined();

    const check = await vodpipe(["check", out], {});
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).ok).toBe(true);
  });

  it("process exits with status 2 and one line giving the reason for a file it rejects", async () => {
    const result = await vodpipe(["process", await standIn("truncated-moov-missing.mp4")], sandbox.env);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines[lines.length - 1]).toMatch(/^vodpipe: rejected .*truncated-moov-missing\.mp4: the file is incomplete or not a video/);
    expect(result.stdout).toBe("");
  });

  it("process refuses an --out folder it did not write, before doing any work, and deletes nothing", async () => {
    const mine = join(sandbox.root, "my-folder");
    mkdirSync(mine);
    writeFileSync(join(mine, "holiday.mov"), "precious");
    for (const out of [mine, sandbox.root]) {
      const result = await vodpipe(["process", mediaFile("androidx_sample.avi"), "--out", out], sandbox.env);
      expect(result.code, result.stderr).toBe(73);
      expect(result.stderr).toMatch(/^vodpipe process: --out .*(not a previous vodpipe output|may not contain, or lie inside, the data folder)/);
    }
    expect(readFileSync(join(mine, "holiday.mov"), "utf8")).toBe("precious");
    expect(existsSync(join(sandbox.root, "data"))).toBe(true);
  });

  it("a wrong setting stops it with a message naming the variable", async () => {
    const result = await vodpipe(["process", mediaFile("androidx_sample.avi")], { ...sandbox.env, VODPIPE_SEGMENT_SECONDS: "four" });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('VODPIPE_SEGMENT_SECONDS="four"');
  });

  it("check fails with status 1 on a tree that breaks a rule", async () => {
    const out = join(sandbox.root, "cli-out");
    const master = readFileSync(join(out, "master.m3u8"), "utf8");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(out, "master.m3u8"), master.replace(/CODECS="avc1\.[0-9A-F]{6}/g, 'CODECS="avc1.640033'));
    const check = await vodpipe(["check", join(out, "master.m3u8")], {});
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout);
    expect(report.ok).toBe(false);
    expect(report.failures.map((f: { rule: string }) => f.rule)).toContain("codecs");
  });
});


describe("vodpipe process on SIGTERM", () => {
  let sandbox: Sandbox;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    // A slow preset, so the signal lands while a transcode's ffmpeg is running.
    sandbox = await createSandbox({ VODPIPE_X264_PRESET: "veryslow", VODPIPE_LADDER: "360p" });
  });
  afterAll(async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await sandbox.cleanup();
  });

  it("kills its ffmpegs, marks the video failed, leaves no temp files and exits 143", async () => {
    child = spawn(process.execPath, ["bin/vodpipe.js", "process", await standIn("mjpeg-422-mp2.mov")], { env: { ...process.env, ...sandbox.env } });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));

    let encoders: number[] = [];
    await until("a transcode's ffmpeg", () => (encoders = ffmpegChildren(child!.pid!)).length > 0 && / encoding\b/.test(stderr), 90);
    child.kill("SIGTERM");
    expect(await exited).toBe(143);

    for (const pid of encoders) expect(existsSync(`/proc/${pid}`), `ffmpeg ${pid} still running`).toBe(false);
    const videoId = /vodpipe: interrupted; video (\S+) is marked failed and nothing was published\n$/.exec(stderr)?.[1];
    expect(videoId, stderr).toBeDefined();
    const job = await readJob(createObjectStore(sandbox.config), videoId!);
    expect(job?.status).toBe("failed");
    expect(job?.reason).toMatch(/^interrupted \(SIGTERM\) before it finished/);
    expect(await sandbox.leftoverTemp()).toEqual([]);
  });
});
