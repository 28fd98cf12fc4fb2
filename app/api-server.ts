import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { FileStore } from "@tus/file-store";
import { S3Store } from "@tus/s3-store";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { ObjectStore } from "../shared/ports.ts";
import type { QueueSet } from "../shared/queue/queue-set.ts";
import { createPlayerRoutes } from "../player/serve.ts";
import { createApp } from "../services/api/app.ts";
import type { ApiDeps } from "../services/api/deps.ts";
import { createS3DirectUploads } from "../services/api/direct-uploads.ts";
import { listen, type RunningServer } from "../services/api/server.ts";

/** S3 copies at most 5 GiB in one CopyObject. */
const S3_SINGLE_COPY_MAX_BYTES = 5 * 1024 ** 3;

/** Builds the API's dependencies from the opened store and queues: tus's store, direct uploads, health checks. */
export async function createApiDeps(config: Readonly<Config>, logger: Logger, store: ObjectStore, queueSet: QueueSet): Promise<ApiDeps> {
  let tus: ApiDeps["tus"];
  let directUploads: ApiDeps["directUploads"];
  if (config.storage.kind === "fs") {
    tus = await createFileTus(store, join(config.dataDir, "uploads"));
  } else {
    const s3 = config.storage;
    const clientConfig = {
      region: s3.region ?? process.env.AWS_REGION ?? "us-east-1",
      ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
      forcePathStyle: s3.forcePathStyle,
    };
    // tus writes under uploads/, outside sources/: the bucket notification must not start ingest
    // on a half-written upload or its .info file. A finished upload is copied into place (S3
    // CopyObject, up to 5 GiB; larger files go through presigned multipart uploads instead).
    const datastore = new S3Store({ s3ClientConfig: { bucket: s3.bucket, ...clientConfig } });
    tus = {
      datastore,
      idPrefix: "uploads/",
      maxBytes: Math.min(config.limits.maxFileBytes, S3_SINGLE_COPY_MAX_BYTES),
      async finish(tusId, sourceKey) {
        await store.copy(tusId, sourceKey);
        await datastore.remove(tusId);
        return sourceKey;
      },
    };
    directUploads = createS3DirectUploads(new S3Client(clientConfig), s3.bucket);
  }
  const healthChecks: Record<string, () => Promise<unknown>> = { store: () => store.list("", { limit: 1 }) };
  for (const [stage, queue] of Object.entries(queueSet.queues)) healthChecks[`queue:${stage}`] = () => queue.depth();
  return {
    store,
    ingestQueue: queueSet.queues.ingest,
    config,
    logger: logger.child({ service: "api" }),
    tus,
    directUploads,
    healthChecks,
    player: createPlayerRoutes(),
  };
}

/**
 * tus on the embedded store: @tus/server's file store in the data folder; a finished upload is
 * hard-linked into the object store (same filesystem), not copied.
 */
export async function createFileTus(store: ObjectStore, directory: string): Promise<NonNullable<ApiDeps["tus"]>> {
  await mkdir(directory, { recursive: true });
  const datastore = new FileStore({ directory });
  return {
    datastore,
    idPrefix: "",
    async finish(tusId, sourceKey) {
      await store.upload(sourceKey, join(directory, tusId), { readOnly: true });
      await datastore.remove(tusId);
      return sourceKey;
    },
  };
}

/** Starts the HTTP server on config.api.port and says where it is, and whether it is open to anyone. */
export async function startApiServer(deps: ApiDeps): Promise<RunningServer> {
  const server = await listen(createApp(deps), { port: deps.config.api.port });
  const { apiKey, playbackSigningKey } = deps.config.api;
  deps.logger.info({ url: server.url, auth: apiKey ? "api key" : "open", signedPlayback: Boolean(playbackSigningKey) }, "API listening");
  if (!apiKey) {
    deps.logger.warn("no VODPIPE_API_KEY: anyone who can reach this port can upload and delete videos (fine on your own machine; set a key anywhere else)");
  }
  return server;
}
