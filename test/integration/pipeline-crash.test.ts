import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { silentLogger } from "../../shared/logger.ts";
import { keys } from "../../shared/keys.ts";
import { readJob } from "../../shared/job.ts";
import { serialize } from "../../shared/messages.ts";
import { openPipelineEnvironment, startStageWorkers } from "../../app/environment.ts";
import { standIn } from "../support/media.ts";
import { createSandbox, type Sandbox } from "../support/pipeline-harness.ts";
import { sleep, until } from "../support/wait.ts";

describe("a worker killed with SIGKILL in the middle of a transcode", () => {
  let sandbox: Sandbox;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    // A short visibility timeout so the killed worker's message comes back within seconds.
    sandbox = await createSandbox({ VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "6", VODPIPE_HEARTBEAT_SECONDS: "2" });
  });
  afterAll(async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
    await sandbox.cleanup();
  });

  it("loses nothing: the chunk is transcoded again and the video ends ready", async () => {
    const childTmp = join(sandbox.root, "child-tmp");
    await mkdir(childTmp);
    // The worker runs in a process group of its own (its ffmpegs each have theirs).
    child = spawn(process.execPath, ["bin/vodpipe.js", "worker", "transcode"], {
      env: { ...process.env, ...sandbox.env, VODPIPE_TMP_DIR: childTmp },
      stdio: "ignore",
      detached: true,
    });

    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    const workers = startStageWorkers(env, ["ingest", "split", "lead", "audio", "thumbnails", "publish"]);
    try {
      const videoId = "crash-test";
      const sourceKey = keys.source(videoId, ".mov");
      await env.deps.store.put(sourceKey, createReadStream(await standIn("mjpeg-422-mp2.mov")));
      await env.queueSet.queues.ingest.send(serialize({ type: "source-uploaded", version: 1, videoId, sourceKey }));

      // The child has downloaded a chunk and ffmpeg is encoding it: kill the whole process group.
      await until("the child to start a transcode", async () => (await readdir(childTmp, { recursive: true })).some((name) => name.includes("vodpipe-chunk-")));
      await sleep(300);
      process.kill(-child.pid!, "SIGKILL");
      await until("the child to die", async () => child!.exitCode !== null || child!.signalCode !== null, 10);
      expect(child.signalCode).toBe("SIGKILL");
      expect((await readJob(env.deps.store, videoId))?.status).toBe("processing");

      // A fresh transcode worker picks up everything, including the killed worker's message.
      workers.push(...startStageWorkers(env, ["transcode"]));
      await until("the job to end", async () => (await readJob(env.deps.store, videoId))?.status !== "processing", 120);
      const job = await readJob(env.deps.store, videoId);
      expect(job?.reason).toBeUndefined();
      expect(job?.status).toBe("ready");
      const deadLetters = await env.queueSet.deadLetters.transcode.depth();
      expect(deadLetters.visible).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await env.close();
    }
  }, 180_000);
});
