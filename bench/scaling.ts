/**
 * Scaling: the same job on S3 + SQS (a local fauxqs) with 1 and then 2 transcode worker processes,
 * each pinned to its own core with taskset; the other stages share one worker process pinned to
 * the same cores, so the 1-worker run is a 1-core machine and the 2-worker run a 2-core one.
 * Measures the time from upload complete (`vodpipe submit` returned) to ready, and the components
 * the model needs (probe, split, each chunk's encode, audio, thumbnails, publish).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { startFauxqs } from "fauxqs";
import { readJob, readJsonObject, type JobRecord } from "../shared/job.ts";
import { keys } from "../shared/keys.ts";
import type { PartRecord } from "../shared/pipeline/part-record.ts";
import { listAll, type ObjectStore } from "../shared/ports.ts";
import { createS3ObjectStore } from "../shared/storage/s3-object-store.ts";
import { round } from "./measure.ts";
import type { Components } from "./model.ts";

const REPO_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const run = promisify(execFile);

export interface ScalingRun {
  workers: number;
  readySeconds: number;
  timeToPlayableSeconds: number | null;
  status: string;
  components: Components;
}

function startWorker(cores: string, stages: string[], env: Record<string, string>): { child: ChildProcess; started: Promise<void> } {
  const child = spawn("taskset", ["-c", cores, process.execPath, "bin/vodpipe.js", "worker", ...stages], {
    cwd: REPO_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const started = new Promise<void>((resolveStart, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk) => {
      buffered += chunk;
      if (buffered.includes('"msg":"workers started"')) resolveStart();
      if (buffered.length > 100_000) buffered = buffered.slice(-1000);
    });
    child.on("exit", (code) => reject(new Error(`worker ${stages.join(",")} exited (${code}) before starting: ${stderr.slice(-2000)}`)));
  });
  return { child, started };
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitForEnd(store: ObjectStore, videoId: string, timeoutSeconds: number): Promise<JobRecord> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const job = await readJob(store, videoId);
    if (job && job.status !== "processing") return job;
    if (Date.now() > deadline) throw new Error(`video ${videoId} did not end within ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function oneRun(workers: number, clip: { path: string; seconds: number }, root: string, faux: { endpoint: string }, s3: S3Client, baseEnv: Record<string, string>): Promise<ScalingRun> {
  const bucket = `vodpipe-scale-${workers}-${randomBytes(4).toString("hex")}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = createS3ObjectStore({ client: s3, bucket });
  const env: Record<string, string> = {
    ...baseEnv,
    VODPIPE_STORAGE: "s3",
    VODPIPE_S3_BUCKET: bucket,
    VODPIPE_S3_ENDPOINT: faux.endpoint,
    VODPIPE_QUEUE: "sqs",
    VODPIPE_SQS_ENDPOINT: faux.endpoint,
    VODPIPE_AWS_REGION: "us-east-1",
    VODPIPE_QUEUE_PREFIX: `${bucket}-`,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    VODPIPE_LOG_LEVEL: "info",
    VODPIPE_FFMPEG_THREADS: "1",
    VODPIPE_DATA_DIR: join(root, `scale-${workers}`, "data"),
    // Ingest plans for two transcode slots in both runs, so both encode the same chunks.
    VODPIPE_TRANSCODE_CONCURRENCY: "2",
    // The transcode stage alone is measured: every rung from the chunks, no lead rung beside them.
    VODPIPE_LEAD_RUNG_MAX_SECONDS: "0",
  };
  await run(process.execPath, ["bin/vodpipe.js", "setup"], { cwd: REPO_DIR, env: { ...process.env, ...env } });
  const cores = Array.from({ length: workers }, (_, i) => String(i));
  const tmp = async (name: string) => {
    const dir = join(root, `scale-${workers}`, `tmp-${name}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  const processes = [
    startWorker(cores.join(","), ["ingest", "split", "lead", "audio", "thumbnails", "publish", "webhook"], { ...env, VODPIPE_TMP_DIR: await tmp("stages") }),
    ...(await Promise.all(
      cores.map(async (core) => startWorker(core, ["transcode"], { ...env, VODPIPE_TMP_DIR: await tmp(`transcode-${core}`), VODPIPE_TRANSCODE_CONCURRENCY: "1" })),
    )),
  ];
  try {
    await Promise.all(processes.map((p) => p.started));
    process.stderr.write(`bench: scaling, ${workers} transcode worker(s): submitting…\n`);
    const submitted = await run(process.execPath, ["bin/vodpipe.js", "submit", clip.path], { cwd: REPO_DIR, env: { ...process.env, ...env, VODPIPE_LOG_LEVEL: "warn" } });
    const uploadComplete = Date.now();
    const videoId = submitted.stdout.trim().split(/\s+/)[0]!;
    const job = await waitForEnd(store, videoId, 900);
    const parts = new Map<string, PartRecord>();
    for (const object of await listAll(store, keys.partsPrefix(videoId))) {
      const record = await readJsonObject<PartRecord>(store, object.key);
      parts.set(record.part, record);
    }
    const at = (iso: string) => Date.parse(iso);
    const span = (p: PartRecord | undefined) => (p ? (at(p.finishedAt) - at(p.startedAt)) / 1000 : 0);
    const chunks = [...parts.values()].filter((p) => p.part.startsWith("chunk-")).sort((a, b) => a.part.localeCompare(b.part));
    const firstPart = Math.min(...[...parts.values()].map((p) => at(p.startedAt)));
    const lastPart = Math.max(...[...parts.values()].map((p) => at(p.finishedAt)));
    const end = at(job.readyAt ?? job.updatedAt);
    return {
      workers,
      status: job.status,
      readySeconds: round((end - uploadComplete) / 1000, 2),
      timeToPlayableSeconds: job.playableAt ? round((at(job.playableAt) - uploadComplete) / 1000, 2) : null,
      components: {
        videoSeconds: clip.seconds,
        // The plan's chunk length (a short video is split for both slots, below the configured length).
        chunkSeconds: round(clip.seconds / Math.max(1, chunks.length), 2),
        probeSeconds: round((at(job.createdAt) - uploadComplete) / 1000, 2),
        splitSeconds: round((firstPart - at(job.createdAt)) / 1000, 2),
        chunkEncodeSeconds: chunks.map((p) => round(span(p), 2)),
        audioSeconds: round(span(parts.get("audio")), 2),
        thumbnailsSeconds: round(span(parts.get("thumbnails")), 2),
        publishSeconds: round((end - lastPart) / 1000, 2),
      },
    };
  } finally {
    await Promise.all(processes.map((p) => stopWorker(p.child)));
  }
}

/** Runs the job with 1 and with 2 transcode workers, one after the other, against one fauxqs server. */
export async function runScaling(clip: { path: string; seconds: number }, root: string, baseEnv: Record<string, string>) {
  const server = await startFauxqs({ port: 0, host: "localhost", logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const s3 = new S3Client({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, forcePathStyle: true });
  try {
    const runs: ScalingRun[] = [];
    for (const workers of [1, 2]) runs.push(await oneRun(workers, clip, root, { endpoint }, s3, baseEnv));
    const [one, two] = runs as [ScalingRun, ScalingRun];
    return { runs, speedup2: round(one.readySeconds / two.readySeconds, 3) };
  } finally {
    s3.destroy();
    await server.stop();
  }
}
