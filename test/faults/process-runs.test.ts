import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJob } from "../../shared/job.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";
import { faultsInjected, folderPlaylists, isRunning, printFigures, processesMentioning, publishedPlaylists, writeFaultyTool, type Outcome } from "./fault-support.ts";

const CLIP = "androidx_sample.avi";
const outcomes: Outcome[] = [];
let clean: Record<string, string>;
let tools: string;
const started: ChildProcess[] = [];

/** `vodpipe process` as a user runs it; resolves with its exit status and stderr. */
function vodpipeProcess(sandbox: Sandbox, out: string, extraEnv: Record<string, string> = {}): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ["bin/vodpipe.js", "process", mediaFile(CLIP), "--out", out], {
    env: { ...process.env, ...sandbox.env, ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.push(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once("close", (code) => resolve({ code, stderr })));
  return { child, done };
}

beforeAll(async () => {
  tools = await mkdtemp(join(tmpdir(), "vodpipe-run-tools-"));
  const sandbox = await createSandbox();
  try {
    const result = await runPipeline(sandbox, mediaFile(CLIP));
    clean = await publishedPlaylists(createObjectStore(sandbox.config), result.videoId);
  } finally {
    await sandbox.cleanup();
  }
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await rm(tools, { recursive: true, force: true });
  printFigures("vodpipe process runs", outcomes);
});

describe("vodpipe process runs on one data folder", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  async function assertNothingLeft(box: Sandbox): Promise<void> {
    expect(await readdir(box.tmpDir)).toEqual([]);
    expect(await readdir(join(box.config.dataDir, "runs")).catch(() => [])).toEqual([]);
    expect(await processesMentioning(box.root)).toEqual([]);
  }

  it("two at once each finish their own video, neither taking the other's messages", async () => {
    const outs = [join(sandbox.root, "out-a"), join(sandbox.root, "out-b")];
    const runs = outs.map((out) => vodpipeProcess(sandbox, out));
    const results = await Promise.all(runs.map((run) => run.done));
    for (const [i, result] of results.entries()) {
      outcomes.push({ suite: "runs", scenario: `concurrent run ${i + 1}`, runs: 1, faults: 0, outcome: result.code === 0 ? "ready" : "failed" });
      expect(result.code, result.stderr).toBe(0);
      expect(await folderPlaylists(outs[i]!)).toEqual(clean);
    }
    await assertNothingLeft(sandbox);
  }, 120_000);

  it("a run after a killed run cleans up after it (its ffmpeg, temp folder, queues, video) and finishes its own", async () => {
    const slow = await writeFaultyTool(await mkdtemp(join(tools, "slow-")), "ffmpeg", { kind: "transcode", action: "slow", times: 1 });
    const killed = vodpipeProcess(sandbox, join(sandbox.root, "out-killed"), { VODPIPE_FFMPEG_PATH: slow.path });
    const marker = join(slow.state, "started-transcode");
    await until("the first run's transcode", () => existsSync(marker) && readFileSync(marker, "utf8").trim() !== "", 60);
    const orphan = Number(await readFile(marker, "utf8"));
    const runsDir = join(sandbox.config.dataDir, "runs");
    const [runFile] = readdirSync(runsDir);
    const record = JSON.parse(await readFile(join(runsDir, runFile!), "utf8")) as { videoIds: string[]; queuePrefix: string; tmpDir: string };
    killed.child.kill("SIGKILL");
    await killed.done;
    expect(await isRunning(orphan)).toBe(true);
    expect(existsSync(record.tmpDir)).toBe(true);

    // Processes this data folder never recorded are never touched, even when a dead run's
    // record names their pid: one runs another binary, one is not the leader of its own group.
    const bystander = spawn("sleep", ["300"], { stdio: "ignore" });
    started.push(bystander);
    const deadPid = spawnSync("true").pid!;
    await writeFile(
      join(runsDir, "forged.json"),
      JSON.stringify({ id: "forged", pid: deadPid, startTicks: 1, command: "process", children: [
        { pid: bystander.pid, binary: "/usr/bin/ffmpeg" },
        { pid: bystander.pid, binary: "sleep" },
      ] }),
    );

    // And the half-written record a run killed in the middle of rewriting it leaves.
    await writeFile(join(runsDir, `forged.json.${deadPid}.tmp`), "{\"id\": \"forg");

    const next = vodpipeProcess(sandbox, join(sandbox.root, "out-next"));
    const result = await next.done;
    outcomes.push({ suite: "runs", scenario: "run after a SIGKILLed run", runs: 2, faults: 1, outcome: result.code === 0 ? "ready" : "failed" });
    expect(result.code, result.stderr).toBe(0);
    expect(await folderPlaylists(join(sandbox.root, "out-next"))).toEqual(clean);
    expect(await isRunning(orphan)).toBe(false);
    expect(await isRunning(bystander.pid!)).toBe(true);
    bystander.kill("SIGKILL");
    expect(existsSync(record.tmpDir)).toBe(false);
    const killedJob = await readJob(createObjectStore(sandbox.config), record.videoIds[0]!);
    expect(killedJob).toMatchObject({ status: "failed", failedBecause: "interrupted" });
    const db = new Database(sandbox.config.queue.kind === "embedded" ? sandbox.config.queue.file : "", { readonly: true });
    try {
      const left = db.prepare("SELECT COUNT(*) AS n FROM messages WHERE substr(queue, 1, ?) = ?").get(record.queuePrefix.length, record.queuePrefix) as { n: number };
      expect(left.n).toBe(0);
    } finally {
      db.close();
    }
    await assertNothingLeft(sandbox);
  }, 120_000);

  it("a video dead-lettered for a fault that is not its own (a full disk every time) ends failed, exit status 1", async () => {
    const full = await writeFaultyTool(await mkdtemp(join(tools, "full-")), "ffmpeg", { kind: "transcode", action: "nospace", times: 1000 });
    const run = vodpipeProcess(sandbox, join(sandbox.root, "out-full"), { VODPIPE_FFMPEG_PATH: full.path, VODPIPE_MAX_RECEIVE_COUNT: "2" });
    const result = await run.done;
    const faults = await faultsInjected(full.state);
    outcomes.push({ suite: "runs", scenario: "transcode disk full every time", runs: 1, faults, outcome: "failed" });
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^vodpipe: failed .*androidx_sample\.avi: the transcode step kept failing/);
    expect(faults).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(sandbox.root, "out-full"))).toBe(false);
    await assertNothingLeft(sandbox);
  }, 120_000);
});
