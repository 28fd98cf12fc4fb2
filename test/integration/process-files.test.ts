import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAbout, outputFolders } from "../../app/cli/process-command.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { ROOT } from "../support/worker-processes.ts";

const run = promisify(execFile);

describe("output folders of several files", () => {
  it("one file: --out itself; several: a folder per file named after it; none: out/<videoId>", () => {
    expect(outputFolders(["/in/a.mp4"], "x", ["v1"])).toEqual([resolve("x")]);
    expect(outputFolders(["/in/a.mp4", "/in/b.MOV", "/other/a.mkv", "/in/A.avi", "/in/.hidden", "/in/wé ird:name?.mp4"], "/o", ["1", "2", "3", "4", "5", "6"])).toEqual([
      "/o/a",
      "/o/b",
      "/o/a-2",
      "/o/A-3",
      "/o/hidden",
      "/o/wé ird_name_",
    ]);
    expect(outputFolders(["/in/a.mp4", "/in/b.mp4"], undefined, ["v1", "v2"])).toEqual([resolve("out", "v1"), resolve("out", "v2")]);
  });
});

describe("vodpipe process with a ready file and a rejected one", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("writes the ready one, names the rejected one's reason in the summary, and exits with status 2", async () => {
    const good = mediaFile("androidx_sample.avi");
    const bad = mediaFile("broken_html_page.mp4");
    const out = join(sandbox.root, "mixed");
    const result = await run(process.execPath, ["bin/vodpipe.js", "process", good, bad, "--out", out], { cwd: ROOT, env: { ...process.env, ...sandbox.env } }).then(
      (done) => ({ code: 0, ...done }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines.slice(-3)).toEqual([
      "vodpipe: 2 files: 1 ready, 1 rejected",
      `vodpipe: ready ${good}: ${join(out, "androidx_sample", "master.m3u8")}`,
      expect.stringMatching(new RegExp(`^vodpipe: rejected ${bad}: .*HTML`)),
    ]);
    expect(result.stdout).toBe(`${join(out, "androidx_sample", "master.m3u8")}\n`);
    expect(existsSync(join(out, "androidx_sample", "master.m3u8"))).toBe(true);
    expect(existsSync(join(out, "broken_html_page"))).toBe(false);
  });
});

describe("a dead letter in a run of several files", () => {
  const chunk = (videoId: string) => JSON.stringify({ type: "transcode-chunk", version: 1, videoId, chunkIndex: 0, seekSeconds: 0 });
  const record = (videoId: string) => JSON.stringify({ reason: "gave up", errorName: "RetriesExhaustedError", body: chunk(videoId), messageId: "m", receiveCount: 5, failedAt: "", service: "transcode" });

  it("ends the video it names, moved by the queue or recorded by the runtime; one that names none ends them all", () => {
    const run = ["v1", "v2"];
    expect(run.filter((id) => isAbout({ stage: "transcode", body: chunk("v2"), receiveCount: 5 }, id, run))).toEqual(["v2"]);
    expect(run.filter((id) => isAbout({ stage: "transcode", body: record("v1"), receiveCount: 1 }, id, run))).toEqual(["v1"]);
    expect(run.filter((id) => isAbout({ stage: "ingest", body: "not json", receiveCount: 1 }, id, run))).toEqual(["v1", "v2"]);
  });
});
