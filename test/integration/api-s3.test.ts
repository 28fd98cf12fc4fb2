import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../shared/config.ts";
import { readJob, writeJob } from "../../shared/job.ts";
import { keys } from "../../shared/keys.ts";
import { silentLogger } from "../../shared/logger.ts";
import { parseMessage } from "../../shared/messages.ts";
import { openQueueSet, setupQueues, type QueueSet } from "../../shared/queue/queue-set.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import { createApiDeps } from "../../app/api-server.ts";
import { openPipelineEnvironment } from "../../app/environment.ts";
import { createStageHandlers } from "../../app/stage-handlers.ts";
import { createApp } from "../../services/api/app.ts";
import type { ApiDeps } from "../../services/api/deps.ts";
import { fauxAwsEnv, startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";

let faux: FauxAws;
let root: string;
let env: Record<string, string>;
let config: Readonly<Config>;
let store: ObjectStore;
let queueSet: QueueSet;
let deps: ApiDeps;
const savedEnv = { ...process.env };

beforeAll(async () => {
  faux = await startFauxAws();
  root = await mkdtemp(join(tmpdir(), "vodpipe-api-s3-"));
  const bucket = uniqueName("vodpipe-api");
  // The SDK's default credential chain (what `vodpipe api` uses) reads these.
  process.env.AWS_ACCESS_KEY_ID = faux.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = faux.credentials.secretAccessKey;
  const s3 = new S3Client({ endpoint: faux.endpoint, region: faux.region, credentials: faux.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  env = {
    VODPIPE_DATA_DIR: join(root, "data"),
    ...fauxAwsEnv(faux, bucket, `${uniqueName("api")}-`),
    VODPIPE_WAIT_SECONDS: "0",
    VODPIPE_LOG_LEVEL: "silent",
  };
  config = loadConfig(env);
  await setupQueues(config);
  store = createObjectStore(config);
  queueSet = await openQueueSet(config);
  deps = await createApiDeps(config, silentLogger(), store, queueSet);
});

afterAll(async () => {
  await queueSet?.close();
  await faux?.stop();
  await rm(root, { recursive: true, force: true });
  process.env = savedEnv;
});

async function readyVideo(id: string): Promise<void> {
  await store.put(keys.output(id, "master.m3u8"), "#EXTM3U\n");
  await store.put(keys.output(id, "360p/seg-00000.ts"), Buffer.alloc(2000, 0x47));
  const at = new Date().toISOString();
  await writeJob(store, { videoId: id, status: "ready", sourceKey: keys.source(id, ".mp4"), createdAt: at, updatedAt: at });
}

describe("the API alone on S3 + SQS (vodpipe api)", () => {
  it("answers /healthz with the bucket and every SQS queue", async () => {
    const response = await createApp(deps).request("/healthz");
    expect(response.status).toBe(200);
    expect(Object.keys(((await response.json()) as { checks: object }).checks)).toContain("queue:webhook");
  });

  it("gives a presigned PUT straight to the bucket, and queues the video once it is there", async () => {
    const app = createApp(deps);
    const created = await app.request("/v1/direct-uploads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "beach.mp4", size: 5000 }),
    });
    expect(created.status).toBe(201);
    const upload = (await created.json()) as { video: { id: string; status: string }; method: string; url: string };
    expect(upload.method).toBe("PUT");
    expect(upload.video.status).toBe("uploading");
    const id = upload.video.id;

    const early = await app.request(`/v1/direct-uploads/${id}/complete`, { method: "POST" });
    expect(early.status).toBe(409);

    const put = await fetch(upload.url, { method: "PUT", headers: { "content-type": "video/mp4" }, body: new Uint8Array(5000).fill(1) });
    expect(put.status).toBe(200);
    expect((await store.head(keys.source(id, ".mp4")))?.size).toBe(5000);

    const done = await app.request(`/v1/direct-uploads/${id}/complete`, { method: "POST" });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { status: string }).status).toBe("queued");
    const messages = await queueSet.queues.ingest.receive({ waitSeconds: 1 });
    expect(messages.map((m) => parseMessage(m.body))).toContainEqual({
      type: "source-uploaded", version: 1, videoId: id, sourceKey: keys.source(id, ".mp4"), originalName: "beach.mp4",
    });
    for (const message of messages) await queueSet.queues.ingest.delete(message.receiptHandle);
  });

  it("gives a multipart upload with presigned parts: the parts PUT with fetch, completion queues the video and ingest takes it", async () => {
    // A real video over S3's 5 MiB minimum part: lossless noise, 20 frames (about 7 MB).
    const file = join(root, "noise.mp4");
    await promisify(execFile)("ffmpeg", [
      "-v", "error", "-f", "lavfi", "-i", "nullsrc=s=640x360:r=25:d=0.8,geq=random(1)*255:128:128", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", file,
    ]);
    const bytes = await readFile(file);
    const partSize = 5 * 1024 * 1024;
    expect(bytes.length).toBeGreaterThan(partSize);
    const app = createApp(deps);
    const created = await app.request("/v1/direct-uploads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filename: "noise.mp4", size: bytes.length, partSize }),
    });
    expect(created.status).toBe(201);
    const upload = (await created.json()) as {
      video: { id: string; status: string };
      method: string;
      multipart: { partSize: number; parts: Array<{ partNumber: number; url: string }>; completeUrl: string };
    };
    expect(upload.method).toBe("multipart");
    expect(upload.multipart.parts.map((part) => part.partNumber)).toEqual([1, 2]);
    const id = upload.video.id;

    const etags = [];
    for (const part of upload.multipart.parts) {
      const start = (part.partNumber - 1) * upload.multipart.partSize;
      const response = await fetch(part.url, { method: "PUT", body: bytes.subarray(start, start + upload.multipart.partSize) });
      expect(response.status).toBe(200);
      etags.push({ partNumber: part.partNumber, etag: response.headers.get("etag")! });
    }
    const missingParts = await app.request(upload.multipart.completeUrl, { method: "POST" });
    expect(missingParts.status).toBe(400);
    const done = await app.request(upload.multipart.completeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ parts: etags }),
    });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { status: string }).status).toBe("queued");
    const stored = await store.getBuffer(keys.source(id, ".mp4"));
    expect(stored.equals(bytes)).toBe(true);

    const messages = await queueSet.queues.ingest.receive({ waitSeconds: 1 });
    const queued = messages.find((m) => (parseMessage(m.body) as { videoId: string }).videoId === id);
    expect(queued).toBeDefined();
    const environment = await openPipelineEnvironment(config, silentLogger());
    try {
      const ingest = createStageHandlers(environment.deps).ingest;
      await ingest(queued!, { messageId: queued!.id, receiveCount: 1, logger: silentLogger(), signal: new AbortController().signal });
    } finally {
      await environment.close();
    }
    for (const message of messages) await queueSet.queues.ingest.delete(message.receiptHandle);
    const job = await readJob(store, id);
    expect(job).toMatchObject({ status: "processing", source: { sizeBytes: bytes.length } });
    expect(((await (await app.request(`/v1/videos/${id}`)).json()) as { status: string }).status).toBe("processing");
  });

  it("serves playlists itself and redirects segments to presigned URLs that work", async () => {
    await readyVideo("s3ready1");
    const app = createApp(deps);
    const master = await app.request("/v1/videos/s3ready1/hls/master.m3u8");
    expect(master.status).toBe(200);
    expect(await master.text()).toBe("#EXTM3U\n");
    const segment = await app.request("/v1/videos/s3ready1/hls/360p/seg-00000.ts");
    expect(segment.status).toBe(302);
    const location = segment.headers.get("location")!;
    expect(location).toContain("X-Amz-Signature=");
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect((await fetched.arrayBuffer()).byteLength).toBe(2000);
  });

  it("redirects everything to VODPIPE_PUBLIC_BASE_URL when one is set", async () => {
    const cdnConfig = loadConfig({ ...env, VODPIPE_PUBLIC_BASE_URL: "https://cdn.example.com/media/" });
    const app = createApp({ ...deps, config: cdnConfig });
    const master = await app.request("/v1/videos/s3ready1/hls/master.m3u8");
    expect(master.status).toBe(302);
    expect(master.headers.get("location")).toBe("https://cdn.example.com/media/videos/s3ready1/hls/master.m3u8");
  });
});
