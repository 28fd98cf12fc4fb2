import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { readJob } from "../../shared/job.ts";
import { keys, videoIdOfSourceKey } from "../../shared/keys.ts";
import { serialize, type SourceUploadedMessage } from "../../shared/messages.ts";
import { listAll, type ObjectStore, type Queue } from "../../shared/ports.ts";
import { openQueueSet } from "../../shared/queue/queue-set.ts";
import { createObjectStore } from "../../shared/storage/create-object-store.ts";

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;

const USAGE = "usage: vodpipe submit <file… | s3://bucket/prefix…>\n";

/** The upload key of a local file: `sources/<videoId>/source<.ext>`, the extension kept short and safe. */
export function sourceKeyForFile(videoId: string, path: string): string {
  return keys.source(videoId, extname(path).toLowerCase().replace(/[^.a-z0-9]/g, "").slice(0, 6));
}

/** What a submission is about, before it is known whether it is new. */
interface Candidate {
  /** What the person passed: the path, or `s3://bucket/key`. */
  label: string;
  videoId: string;
  sourceKey: string;
  originalName: string;
  /** Uploads the source to `sourceKey` when it is not in the store yet (local files only). */
  upload?: () => Promise<void>;
  origin: Record<string, unknown>;
}

/** Written after a video's ingest message is sent: a second submit then knows it is queued. */
const submittedKey = (videoId: string) => `${keys.videoPrefix(videoId)}submitted.json`;

/**
 * `vodpipe submit <file… | s3://bucket/prefix…>`: one job per video for the workers, without
 * waiting. A local file's id is its content's SHA-256, an S3 object's comes from bucket, key and
 * ETag (a key under `sources/<id>/` keeps `<id>`, as the bucket notification does), so a video
 * submitted twice is one job. Interrupted, it is run again: what is already queued or done is
 * reported as a duplicate, the rest submitted. Prints `<videoId> new|duplicate <what>` per video.
 */
export async function runSubmitCommand(args: string[], config: Readonly<Config>, io: Io): Promise<number> {
  if (args.length === 0 || args.some((arg) => arg.startsWith("-"))) {
    io.stderr.write(USAGE);
    return 64;
  }
  const store = createObjectStore(config);
  const queueSet = await openQueueSet(config);
  let failures = 0;
  const fail = (what: string, error: unknown) => {
    failures += 1;
    io.stderr.write(`vodpipe submit: ${what}: ${errorMessage(error)}\n`);
  };
  try {
    for (const arg of args) {
      let candidates: AsyncIterable<Candidate> | Iterable<Candidate>;
      try {
        candidates = arg.startsWith("s3://") ? await s3Candidates(arg, config, store) : [await fileCandidate(arg, store)];
      } catch (error) {
        fail(arg, error);
        continue;
      }
      for (const candidate of candidates) {
        try {
          const outcome = await submitOne(candidate, store, queueSet.queues.ingest);
          io.stdout.write(`${candidate.videoId} ${outcome} ${candidate.label}\n`);
        } catch (error) {
          fail(candidate.label, error);
        }
      }
    }
  } finally {
    await queueSet.close();
  }
  return failures > 0 ? 1 : 0;
}

async function submitOne(candidate: Candidate, store: ObjectStore, ingest: Queue): Promise<string> {
  const { videoId, sourceKey, originalName } = candidate;
  const job = await readJob(store, videoId);
  if (job) return `duplicate (${job.status})`;
  if (await store.head(submittedKey(videoId))) return "duplicate (queued)";
  await candidate.upload?.();
  const message: SourceUploadedMessage = { type: "source-uploaded", version: 1, videoId, sourceKey, originalName };
  await ingest.send(serialize(message));
  // A crash between the send and this write makes the next submit send once more, which ingest
  // tolerates (at-least-once); never the other way round, which could lose the video.
  await store.put(
    submittedKey(videoId),
    JSON.stringify({ videoId, sourceKey, originalName, submittedAt: new Date().toISOString(), ...candidate.origin }, null, 2),
    { contentType: "application/json" },
  );
  return "new";
}

async function fileCandidate(arg: string, store: ObjectStore): Promise<Candidate> {
  const path = resolve(arg);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error("no such file");
  if (!info.isFile()) throw new Error("not a file (pass the files in a folder, e.g. folder/*)");
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  const sha256 = hash.digest("hex");
  const videoId = sha256.slice(0, 32);
  const sourceKey = sourceKeyForFile(videoId, path);
  return {
    label: arg,
    videoId,
    sourceKey,
    originalName: basename(path),
    // Same id, same bytes: an upload an interrupted run finished is not repeated.
    upload: async () => {
      if ((await store.head(sourceKey))?.size !== info.size) await store.upload(sourceKey, path);
    },
    origin: { sha256, size: info.size },
  };
}

/**
 * Every object under `s3://bucket/prefix` (any bucket the credentials can read), vodpipe's outputs
 * excepted. An object is copied to `sources/<id>/` of vodpipe's bucket, where ingest reads uploads,
 * unless it already is an upload there.
 */
async function s3Candidates(url: string, config: Readonly<Config>, store: ObjectStore): Promise<Candidate[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error("not an s3://bucket/prefix URL");
  const [, bucket, prefix] = match as unknown as [string, string, string];
  if (config.storage.kind !== "s3") throw new Error("vodpipe stores videos on the local filesystem (VODPIPE_STORAGE=fs); submit local files");
  const own = bucket === config.storage.bucket;
  const origin = own ? store : createObjectStore({ storage: { ...config.storage, bucket } });
  const objects = (await listAll(origin, prefix)).filter(
    // Folder placeholders are no videos, and what vodpipe wrote must never come back as a source.
    (object) => !object.key.endsWith("/") && !(own && object.key.startsWith("videos/")),
  );
  if (objects.length === 0) throw new Error("no objects under that prefix");
  return objects.map((object) => {
    const etag = (object.etag ?? "").replace(/"/g, "");
    const uploadedId = own ? videoIdOfSourceKey(object.key) : undefined;
    const videoId = uploadedId ?? createHash("sha256").update(`${bucket}\n${object.key}\n${etag}`).digest("hex").slice(0, 32);
    const sourceKey = uploadedId ? object.key : sourceKeyForFile(videoId, object.key);
    return {
      label: `s3://${bucket}/${object.key}`,
      videoId,
      sourceKey,
      originalName: basename(object.key),
      upload: uploadedId
        ? undefined
        : async () => {
            if ((await store.head(sourceKey))?.size === object.size) return;
            // Inside the bucket S3 copies it (CopyObject takes up to 5 GiB); otherwise the bytes stream through here.
            if (own && object.size <= SINGLE_COPY_LIMIT) await store.copy(object.key, sourceKey);
            else await store.put(sourceKey, await origin.get(object.key));
          },
      origin: { bucket, key: object.key, etag },
    };
  });
}
