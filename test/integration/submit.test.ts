import { createHash } from "node:crypto";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sourceKeyForFile } from "../../app/cli/submit-command.ts";
import { openPipelineEnvironment, startStageWorkers } from "../../app/environment.ts";
import { loadConfig } from "../../shared/config.ts";
import { readJob } from "../../shared/job.ts";
import { silentLogger } from "../../shared/logger.ts";
import { createS3ObjectStore } from "../../shared/storage/s3-object-store.ts";
import { fauxAwsEnv, startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";
import { runCli } from "../support/run-cli.ts";
import { mediaFile } from "../support/media.ts";
import { createSandbox, FAST_TEST_ENV, type Sandbox } from "../support/pipeline-harness.ts";
import { until } from "../support/wait.ts";

const vodpipe = runCli;

const sha256Id = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex").slice(0, 32);

/** Runs every stage in this process until each video ends; returns their statuses. */
async function processQueued(config: ReturnType<typeof loadConfig>, videoIds: string[]) {
  const env = await openPipelineEnvironment(config, silentLogger());
  const workers = startStageWorkers(env);
  try {
    await until("the submitted videos to end", async () => {
      const jobs = await Promise.all(videoIds.map((id) => readJob(env.deps.store, id)));
      return jobs.every((job) => job && job.status !== "processing");
    }, 120);
    return Promise.all(videoIds.map(async (id) => (await readJob(env.deps.store, id))!));
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await env.close();
  }
}

describe("vodpipe submit, local files on the embedded store", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await createSandbox();
  });
  afterAll(async () => {
    await sandbox.cleanup();
  });

  it("one job per content, duplicates reported, a re-run submits only what is missing, and the workers take them", async () => {
    const a = join(sandbox.root, "a.avi");
    const sameAsA = join(sandbox.root, "a copy.AVI");
    const b = join(sandbox.root, "b.flv");
    const c = join(sandbox.root, "c.webm");
    await copyFile(mediaFile("androidx_sample.avi"), a);
    await copyFile(mediaFile("androidx_sample.avi"), sameAsA);
    await copyFile(mediaFile("androidx_sample.flv"), b);
    await copyFile(mediaFile("bear-vp9-odd-dimensions.webm"), c);
    const [idA, idB, idC] = await Promise.all([a, b, c].map(sha256Id));

    const first = await vodpipe(["submit", a], sandbox.env);
    expect(first).toEqual({ code: 0, stdout: `${idA} new ${a}\n`, stderr: "" });

    // As if a run was killed after uploading c but before queueing it.
    const env = await openPipelineEnvironment(sandbox.config, silentLogger());
    await env.deps.store.upload(sourceKeyForFile(idC!, c), c);
    await env.close();

    const missing = join(sandbox.root, "missing.mp4");
    const second = await vodpipe(["submit", a, sameAsA, b, missing, c], sandbox.env);
    expect(second.stdout).toBe(
      [`${idA} duplicate (queued) ${a}`, `${idA} duplicate (queued) ${sameAsA}`, `${idB} new ${b}`, `${idC} new ${c}`].join("\n") + "\n",
    );
    expect(second.stderr).toBe(`vodpipe submit: ${missing}: no such file\n`);
    expect(second.code).toBe(1);

    const queues = JSON.parse((await vodpipe(["queues", "--json"], sandbox.env)).stdout) as { stages: Array<{ stage: string; waiting: number }> };
    expect(queues.stages.find((row) => row.stage === "ingest")?.waiting).toBe(3);

    const jobs = await processQueued(sandbox.config, [idA!, idB!, idC!]);
    expect(jobs.map((job) => [job.status, job.originalName, job.reason])).toEqual([
      ["ready", "a.avi", undefined],
      ["ready", "b.flv", undefined],
      ["ready", "c.webm", undefined],
    ]);
    expect(jobs[0]!.sourceKey).toBe(`sources/${idA}/source.avi`);

    expect((await vodpipe(["submit", sameAsA], sandbox.env)).stdout).toBe(`${idA} duplicate (ready) ${sameAsA}\n`);
    expect((await vodpipe(["submit"], sandbox.env)).code).toBe(64);
    const wrongStore = await vodpipe(["submit", "s3://videos/library/"], sandbox.env);
    expect(wrongStore.code).toBe(1);
    expect(wrongStore.stderr).toMatch(/^vodpipe submit: s3:\/\/videos\/library\/: vodpipe stores videos on the local filesystem/);
  });
});

describe("vodpipe submit s3://bucket/prefix on S3 + SQS", { timeout: 180_000 }, () => {
  let faux: FauxAws;
  let s3: S3Client;
  beforeAll(async () => {
    faux = await startFauxAws();
    s3 = new S3Client({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials, forcePathStyle: true });
  });
  afterAll(async () => {
    s3.destroy();
    await faux.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("submits every object once by bucket, key and ETag, through ingest, skipping vodpipe's outputs", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", faux.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", faux.credentials.secretAccessKey);
    const sandbox = await createSandbox();
    try {
      const bucket = uniqueName("vodpipe-submit");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const store = createS3ObjectStore({ client: s3, bucket });
      await store.upload("library/one.avi", mediaFile("androidx_sample.avi"));
      await store.upload("library/2024/two clips.flv", mediaFile("androidx_sample.flv"));
      // A console-made "folder": an empty object whose key ends in a slash.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "library/2024/", Body: "" }));
      await store.put("videos/old/hls/360p/seg-00000.ts", "not a source");
      const env: Record<string, string> = {
        ...FAST_TEST_ENV,
        VODPIPE_TMP_DIR: sandbox.tmpDir,
        ...fauxAwsEnv(faux, bucket, `${uniqueName("submit")}-`),
      };
      expect((await vodpipe(["setup"], env)).code).toBe(0);

      const lines = (result: { stdout: string }) => result.stdout.trim().split("\n").map((line) => line.split(" "));
      const first = await vodpipe(["submit", `s3://${bucket}/`], env);
      expect(first.stderr).toBe("");
      expect(lines(first).map(([, outcome, ...what]) => [outcome, what.join(" ")])).toEqual([
        ["new", `s3://${bucket}/library/2024/two clips.flv`],
        ["new", `s3://${bucket}/library/one.avi`],
      ]);
      const again = await vodpipe(["submit", `s3://${bucket}/library`], env);
      expect(lines(again).map(([id, ...rest]) => [id, rest.slice(0, 2).join(" ")])).toEqual(lines(first).map(([id]) => [id, "duplicate (queued)"]));

      // The same key with new content is a new video.
      await store.upload("library/one.avi", mediaFile("bear-vp9-odd-dimensions.webm"));
      const replaced = await vodpipe(["submit", `s3://${bucket}/library/one`], env);
      const [[newId, outcome]] = lines(replaced) as [[string, string]];
      expect(outcome).toBe("new");
      expect(newId).not.toBe(lines(first)[1]![0]);

      // Another bucket the credentials can read: copied in, like the rest, under sources/<id>/.
      const library = uniqueName("vodpipe-library");
      await s3.send(new CreateBucketCommand({ Bucket: library }));
      await createS3ObjectStore({ client: s3, bucket: library }).upload("in/three.avi", mediaFile("androidx_sample.avi"));
      const elsewhere = await vodpipe(["submit", `s3://${library}/in/`], env);
      expect(elsewhere.stderr).toBe("");
      const [[otherId, otherOutcome]] = lines(elsewhere) as [[string, string]];
      expect(otherOutcome).toBe("new");
      expect((await vodpipe(["submit", `s3://${library}/nothing/`], env)).stderr).toBe(`vodpipe submit: s3://${library}/nothing/: no objects under that prefix\n`);

      const ids = [...lines(first).map(([id]) => id!), newId, otherId];
      const jobs = await processQueued(loadConfig(env), ids);
      expect(jobs.map((job) => [job.status, job.originalName, job.reason])).toEqual([
        ["ready", "two clips.flv", undefined],
        ["ready", "one.avi", undefined],
        ["ready", "one.avi", undefined],
        ["ready", "three.avi", undefined],
      ]);
      expect(jobs.map((job) => job.sourceKey)).toEqual(ids.map((id, i) => `sources/${id}/source${[".flv", ".avi", ".avi", ".avi"][i]}`));
      // The first one.avi was copied before it was replaced: each job has the bytes it was submitted with.
      expect(jobs[1]!.source!.video.codec).not.toBe(jobs[2]!.source!.video.codec);
    } finally {
      await sandbox.cleanup();
    }
  });
});
