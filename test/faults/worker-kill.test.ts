import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPipelineEnvironment, startStageWorkers } from "../../app/environment.ts";
import { readJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { silentLogger } from "../../shared/logger.ts";
import { serialize, STAGES, type Stage } from "../../shared/messages.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, runPipeline, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";
import { isRunning, printFigures, processesMentioning, publishedPlaylists, writeFaultyTool, type Outcome, type ToolKind } from "./fault-support.ts";

const CLIP = "androidx_sample.avi";
/** A killed worker's message comes back within seconds. */
const QUICK_REDELIVERY = { VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "5", VODPIPE_HEARTBEAT_SECONDS: "1" };

const outcomes: Outcome[] = [];
let clean: Record<string, string>;
let tools: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  tools = await mkdtemp(join(tmpdir(), "vodpipe-kill-tools-"));
  const sandbox = await createSandbox(QUICK_REDELIVERY);
  try {
    const result = await runPipeline(sandbox, mediaFile(CLIP));
    expect(result.job.status).toBe("ready");
    clean = await publishedPlaylists(createObjectStore(sandbox.config), result.videoId);
  } finally {
    await sandbox.cleanup();
  }
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await rm(tools, { recursive: true, force: true });
  printFigures("worker killed with SIGKILL", outcomes);
});

function startWorker(sandbox: Sandbox, stage: Stage, extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ["bin/vodpipe.js", "worker", stage], {
    env: { ...process.env, ...sandbox.env, ...extraEnv },
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once("exit", resolve));
}

/** What each stage runs that the test can hold up: the stage's own media tool (publish runs none). */
const TOOL_OF: Partial<Record<Stage, ToolKind | undefined>> = {
  ingest: "probe",
  split: "split",
  transcode: "transcode",
  audio: "audio",
  thumbnails: "thumbnails",
  publish: undefined,
};

describe("a worker killed with SIGKILL in the middle of its stage", () => {
  let sandbox: Sandbox | undefined;
  afterAll(async () => {
    await sandbox?.cleanup();
  });

  const PIPELINE: Stage[] = ["ingest", "split", "transcode", "audio", "thumbnails", "publish"];
  it.each(PIPELINE.map((stage) => [stage] as const))("%s: a restarted worker finishes the video with the clean run's playlists", async (stage) => {
    await sandbox?.cleanup();
    sandbox = await createSandbox(QUICK_REDELIVERY);
    const kind = TOOL_OF[stage];
    const tool = kind === "probe" ? "ffprobe" : "ffmpeg";
    const slow = kind ? await writeFaultyTool(await mkdtemp(join(tools, `${stage}-`)), tool, { kind, action: "slow", times: 1 }) : undefined;
    const slowEnv: Record<string, string> = slow ? { [tool === "ffprobe" ? "VODPIPE_FFPROBE_PATH" : "VODPIPE_FFMPEG_PATH"]: slow.path } : {};

    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    const workers = startStageWorkers(env, STAGES.filter((other) => other !== stage));
    try {
      const first = startWorker(sandbox, stage, slowEnv);
      const videoId = `kill-${stage}`;
      const sourceKey = keys.source(videoId, ".avi");
      await env.deps.store.put(sourceKey, createReadStream(mediaFile(CLIP)));
      await env.queueSet.queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId, sourceKey }));

      // Held in the middle of its work: the stage's media tool has started (publish: its message is in flight).
      let orphan: number | undefined;
      if (slow) {
        const started = join(slow.state, `started-${kind}`);
        await until(`the ${stage} worker's ${kind} run`, () => existsSync(started), 60);
        await until("the pid in the marker", async () => (await readFile(started, "utf8")).trim() !== "", 5);
        orphan = Number(await readFile(started, "utf8"));
      } else {
        await until(`the ${stage} worker to receive its message`, async () => (await env.queueSet.queues[stage].depth()).inFlight > 0, 60);
      }
      first.kill("SIGKILL");
      await exited(first);
      // Killed during ingest, there is no job record yet.
      expect([undefined, "processing"]).toContain((await readJob(env.deps.store, videoId))?.status);
      // The killed worker's media tool runs on in its own process group.
      if (orphan !== undefined) expect(await isRunning(orphan)).toBe(true);

      // The restarted worker cleans up after the dead one and gets the message back.
      const second = startWorker(sandbox, stage);
      await until("the video to end", async () => ["ready", "failed"].includes((await readJob(env.deps.store, videoId))?.status ?? ""), 90);
      const job = await readJob(env.deps.store, videoId);
      outcomes.push({ suite: "kill", scenario: `SIGKILL during ${stage}`, runs: 2, faults: 1, outcome: job?.status as Outcome["outcome"] });
      expect(job?.reason).toBeUndefined();
      expect(job?.status).toBe("ready");
      expect(await publishedPlaylists(env.deps.store, videoId)).toEqual(clean);
      if (orphan !== undefined) await until("the dead worker's media tool to be killed", async () => !(await isRunning(orphan)), 10);

      second.kill("SIGTERM");
      await exited(second);
      expect(second.exitCode).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
    expect(await readdir(sandbox.tmpDir)).toEqual([]);
    expect(await readdir(join(sandbox.config.dataDir, "runs")).catch(() => [])).toEqual([]);
    expect(await processesMentioning(sandbox.root)).toEqual([]);
  }, 150_000);
});
