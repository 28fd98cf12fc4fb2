import { CreateBucketCommand, DeleteBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { listAll } from "../../shared/ports.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { createS3ObjectStore } from "../../shared/storage/s3-object-store.ts";
import { objectStoreContract } from "../contract/object-store-contract.ts";
import { startFauxAws, uniqueName, type FauxAws } from "../support/fauxqs.ts";

let faux: FauxAws;
let client: S3Client;

beforeAll(async () => {
  faux = await startFauxAws();
  client = new S3Client({
    endpoint: faux.endpoint,
    region: faux.region,
    credentials: faux.credentials,
    forcePathStyle: true,
  });
});

afterAll(async () => {
  client?.destroy();
  await faux?.stop();
});

async function makeS3Store() {
  const bucket = uniqueName("vodpipe-objects");
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = createS3ObjectStore({ client, bucket });
  return {
    store,
    cleanup: async () => {
      const tops = new Set((await listAll(store, "")).map(({ key }) => key.split("/")[0]!));
      for (const top of tops) await store.deletePrefix(top);
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  };
}

async function makeFsStore() {
  const root = await mkdtemp(join(tmpdir(), "vodpipe-objects-"));
  return {
    store: createFsObjectStore({ root }),
    cleanup: async () => {
      // Whatever a test did, no temp file may be left behind.
      const leftovers = await readdir(join(root, ".tmp")).catch(() => []);
      await rm(root, { recursive: true, force: true });
      expect(leftovers).toEqual([]);
    },
  };
}

objectStoreContract("fs", makeFsStore);
objectStoreContract("s3 (fauxqs)", makeS3Store);

describe("adapter specifics", () => {
  it("the S3 store presigns, the fs store does not", async () => {
    const s3 = await makeS3Store();
    const fs = await makeFsStore();
    try {
      expect(s3.store.presign).toBeTypeOf("function");
      expect(fs.store.presign).toBeUndefined();
      expect(s3.store.description).toMatch(/^s3:\/\/vodpipe-objects-/);
      expect(fs.store.description).toMatch(/^fs:\/.*vodpipe-objects-/);
    } finally {
      await s3.cleanup();
      await fs.cleanup();
    }
  });

  it("the fs store links readOnly transfers on one filesystem (no copy), and copies the others", async () => {
    const fs = await makeFsStore();
    const local = await mkdtemp(join(tmpdir(), "vodpipe-link-"));
    try {
      await writeFile(join(local, "seg.ts"), Buffer.alloc(188 * 100, 0x47));
      await fs.store.upload("videos/v1/hls/seg.ts", join(local, "seg.ts"), { readOnly: true });
      expect((await stat(join(local, "seg.ts"))).nlink).toBe(2);
      await fs.store.download("videos/v1/hls/seg.ts", join(local, "linked.ts"), { readOnly: true });
      expect((await stat(join(local, "linked.ts"))).ino).toBe((await stat(join(local, "seg.ts"))).ino);
      await fs.store.download("videos/v1/hls/seg.ts", join(local, "copied.ts"));
      await fs.store.upload("videos/v1/hls/copied.ts", join(local, "copied.ts"));
      expect((await stat(join(local, "copied.ts"))).nlink).toBe(1);
    } finally {
      await rm(local, { recursive: true, force: true });
      await fs.cleanup();
    }
  });

  it("S3 uploads a 12 MiB stream in two 8 MiB-part multipart pieces and keeps the given content type", async () => {
    const { store, cleanup } = await makeS3Store();
    try {
      const body = Readable.from((function* () { for (let i = 0; i < 12; i++) yield Buffer.alloc(1024 * 1024, i); })());
      await store.put("videos/big/source.mov", body, { contentType: "video/quicktime" });
      const info = await store.head("videos/big/source.mov");
      // A multipart ETag is "<md5 of part md5s>-<part count>".
      expect(info?.etag).toMatch(/-2"$/);
      expect(info?.contentType).toBe("video/quicktime");
    } finally {
      await cleanup();
    }
  });

  it("S3 presigned PUT URLs carry no empty-body checksum and sign the content type", async () => {
    const { store, cleanup } = await makeS3Store();
    try {
      // fauxqs checks neither signatures nor checksums, so the URL itself is what can be checked.
      const url = new URL(await store.presign!("sources/v1/source.mp4", { method: "PUT", expiresInSeconds: 900, contentType: "video/mp4" }));
      expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
      expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
      expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
      expect(url.pathname).toMatch(/\/sources\/v1\/source\.mp4$/);
      await expect(store.presign!("a", { method: "GET", expiresInSeconds: 8 * 24 * 3600 })).rejects.toBeInstanceOf(RangeError);
    } finally {
      await cleanup();
    }
  });

  it("S3 deletes more than one DeleteObjects batch (1000 keys)", async () => {
    const { store, cleanup } = await makeS3Store();
    try {
      const keys = Array.from({ length: 1005 }, (_, i) => `videos/v1/hls/seg-${String(i).padStart(5, "0")}.ts`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, "s")));
      await store.put("videos/v2/keep.json", "{}");
      expect(await store.deletePrefix("videos/v1/")).toBe(1005);
      expect((await listAll(store, "")).map((o) => o.key)).toEqual(["videos/v2/keep.json"]);
    } finally {
      await cleanup();
    }
  });
});

describe("createObjectStore", () => {
  it("builds the fs store under the configured data dir", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vodpipe-data-"));
    try {
      const store = createObjectStore(loadConfig({ VODPIPE_DATA_DIR: dataDir }));
      expect(store.description).toBe(`fs:${join(dataDir, "objects")}`);
      await store.put("videos/v1/job.json", '{"state":"ready"}');
      expect(await readdir(join(dataDir, "objects", "videos", "v1"))).toEqual(["job.json"]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("builds the S3 store from the environment, region falling back to AWS_REGION", async () => {
    const bucket = uniqueName("vodpipe-config");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    vi.stubEnv("AWS_ACCESS_KEY_ID", faux.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", faux.credentials.secretAccessKey);
    try {
      const config = loadConfig({ VODPIPE_STORAGE: "s3", VODPIPE_S3_BUCKET: bucket, VODPIPE_S3_ENDPOINT: faux.endpoint });
      const store = createObjectStore(config, { AWS_REGION: "eu-west-1" });
      expect(store.description).toBe(`s3://${bucket}`);
      await store.put("videos/v1/job.json", '{"state":"ready"}');
      expect((await store.getBuffer("videos/v1/job.json")).toString()).toBe('{"state":"ready"}');
      const url = await store.presign!("videos/v1/job.json", { method: "GET", expiresInSeconds: 60 });
      expect(new URL(url).searchParams.get("X-Amz-Credential")).toMatch(/\/eu-west-1\/s3\/aws4_request$/);
      const fallback = createObjectStore(config, {});
      const fallbackUrl = await fallback.presign!("videos/v1/job.json", { method: "GET", expiresInSeconds: 60 });
      expect(new URL(fallbackUrl).searchParams.get("X-Amz-Credential")).toMatch(/\/us-east-1\/s3\/aws4_request$/);
      expect(await store.deletePrefix("videos/")).toBe(1);
    } finally {
      vi.unstubAllEnvs();
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
  });
});
