import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { readJob, writeJob, type JobRecord } from "../../shared/job.ts";
import { STAGES, serialize } from "../../shared/messages.ts";
import { openQueueSet } from "../../shared/queue/queue-set.ts";
import { redriveDeadLetters } from "../../shared/queue/queue-operations.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { toDeadLetterRecord } from "../../shared/consumer/types.ts";
import { PermanentError } from "../../shared/errors.ts";
import { fauxAwsEnv, startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";
import { runCli } from "../support/run-cli.ts";

let faux: FauxAws;
const dirs: string[] = [];

beforeAll(async () => {
  faux = await startFauxAws();
});
afterAll(async () => {
  await faux.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const vodpipe = runCli;

async function embeddedEnv(): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), "vodpipe-ops-"));
  dirs.push(dir);
  return { VODPIPE_DATA_DIR: dir, VODPIPE_LOG_LEVEL: "silent" };
}

async function sqsEnv(): Promise<Record<string, string>> {
  const bucket = uniqueName("vodpipe-ops");
  const s3 = new S3Client({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return { ...fauxAwsEnv(faux, bucket, `${uniqueName("ops")}-`), VODPIPE_LOG_LEVEL: "silent" };
}

function job(videoId: string, status: JobRecord["status"], reason?: string): JobRecord {
  const at = "2026-11-28T00:00:00.000Z";
  return { videoId, status, ...(reason ? { reason } : {}), sourceKey: `sources/${videoId}/source.mp4`, originalName: "clip.mp4", createdAt: at, updatedAt: at };
}

const chunkMessage = (videoId: string, chunkIndex: number) =>
  serialize({ type: "transcode-chunk", version: 1, videoId, chunkIndex, seekSeconds: 0 });

describe.each([
  ["the embedded queue", embeddedEnv],
  ["SQS (fauxqs)", sqsEnv],
])("vodpipe queues and redrive on %s", (_name, makeEnv) => {
  it("shows depths and dead letters, and redrive moves them back, reopening the failed video", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", faux.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", faux.credentials.secretAccessKey);
    const env = await makeEnv();
    expect((await vodpipe(["setup"], env)).code).toBe(0);
    const config = loadConfig(env);
    const prefix = config.queue.prefix;
    const store = createObjectStore(config);
    const queues = await openQueueSet(config);
    try {
      await writeJob(store, job("v1", "failed", "gave up after all 5 attempts failed: S3 timed out"));
      await writeJob(store, job("v2", "ready"));
      await queues.queues.transcode.sendBatch([chunkMessage("v3", 0), chunkMessage("v3", 1), chunkMessage("v3", 2)]);
      expect(await queues.queues.transcode.receive({ waitSeconds: 1, visibilityTimeoutSeconds: 60 })).toHaveLength(1);
      // One permanent-failure record written by the runtime, one message the queue itself moved.
      const failed = { id: "m1", body: chunkMessage("v1", 4), receiptHandle: "r", receiveCount: 5, sentAt: new Date() };
      await queues.deadLetters.transcode.send(JSON.stringify(toDeadLetterRecord("transcode", new PermanentError("S3 timed out"), failed)));
      await queues.deadLetters.transcode.send(chunkMessage("v2", 1));

      const before = await vodpipe(["queues", "--json"], env);
      expect(before.code).toBe(0);
      const report = JSON.parse(before.stdout) as { kind: string; stages: Array<Record<string, unknown>> };
      expect(report.kind).toBe(config.queue.kind);
      expect(report.stages.map((row) => row.stage)).toEqual([...STAGES]);
      expect(report.stages.find((row) => row.stage === "transcode")).toEqual({
        stage: "transcode",
        queue: `${prefix}transcode`,
        deadLetter: `${prefix}transcode-dlq`,
        waiting: 2,
        inFlight: 1,
        delayed: 0,
        deadLetters: 2,
      });
      for (const row of report.stages.filter((row) => row.stage !== "transcode")) {
        expect(row).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, deadLetters: 0 });
      }
      const table = await vodpipe(["queues"], env);
      expect(table.stdout.split("\n")[1]).toMatch(/^stage\s+queue\s+waiting\s+in flight\s+delayed\s+dead letters$/);
      expect(table.stdout).toMatch(new RegExp(`\\ntranscode\\s+${prefix}transcode\\s+2\\s+1\\s+0\\s+2\\n`));

      const redrive = await vodpipe(["redrive", "transcode"], env);
      expect(redrive.stderr).toBe("");
      expect(redrive.code).toBe(0);
      expect(redrive.stdout).toBe(`moved 2 messages from ${prefix}transcode-dlq to ${prefix}transcode; reopened 1 failed video: v1\n`);

      const after = JSON.parse((await vodpipe(["queues", "--json"], env)).stdout) as { stages: Array<Record<string, unknown>> };
      expect(after.stages.find((row) => row.stage === "transcode")).toMatchObject({ waiting: 4, inFlight: 1, deadLetters: 0 });
      const bodies: string[] = [];
      for (let received; (received = await queues.queues.transcode.receive({ maxMessages: 10, waitSeconds: 1 })).length > 0; ) {
        bodies.push(...received.map((message) => message.body));
      }
      // The record is unwrapped: the stage gets the message it failed on, not the record.
      expect(bodies.sort()).toEqual([chunkMessage("v1", 4), chunkMessage("v2", 1), chunkMessage("v3", 1), chunkMessage("v3", 2)].sort());
      // v1 was failed: it is processing again and ingest resumes it; v2 was ready and stays so.
      const reopened = await readJob(store, "v1");
      expect(reopened).toMatchObject({ status: "processing", sourceKey: "sources/v1/source.mp4" });
      expect(reopened?.reason).toBeUndefined();
      expect((await readJob(store, "v2"))?.status).toBe("ready");
      const resumed = await queues.queues.ingest.receive({ maxMessages: 10, waitSeconds: 1 });
      expect(resumed.map((message) => JSON.parse(message.body))).toEqual([
        { type: "source-uploaded", version: 1, videoId: "v1", sourceKey: "sources/v1/source.mp4", originalName: "clip.mp4" },
      ]);

      expect((await vodpipe(["redrive", "transcode"], env)).stdout).toBe(`moved 0 messages from ${prefix}transcode-dlq to ${prefix}transcode\n`);
      expect((await vodpipe(["redrive", "nothing"], env)).code).toBe(64);
    } finally {
      await queues.close();
    }
  });

  it("leaves a message that fails again during the redrive in the dead-letter queue", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", faux.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", faux.credentials.secretAccessKey);
    const env = await makeEnv();
    await vodpipe(["setup"], env);
    const queues = await openQueueSet(loadConfig(env));
    try {
      const { audio } = queues.queues;
      const dead = queues.deadLetters.audio;
      await dead.send('{"type":"encode-audio","version":1,"videoId":"a1"}');
      // Let the clock move on, so the original is older than the redrive's start.
      await new Promise((resolve) => setTimeout(resolve, 5));
      let again = 0;
      const moved = await redriveDeadLetters(dead, audio, {
        // As if a worker took the redriven message and dead-lettered it again at once.
        beforeSend: async (body) => {
          again += 1;
          await dead.send(body);
        },
      });
      expect({ moved, again }).toEqual({ moved: 1, again: 1 });
      // Given back at once rather than hidden for the redrive's visibility timeout.
      expect(await dead.depth()).toMatchObject({ visible: 1, inFlight: 0 });
      expect(await audio.depth()).toMatchObject({ visible: 1 });
    } finally {
      await queues.close();
    }
  });
});
