import { join } from "node:path";
import { loadConfig } from "../../shared/config.ts";
import { silentLogger } from "../../shared/logger.ts";
import { openQueueSet, type QueueSet } from "../../shared/queue/queue-set.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { createFileTus } from "../../app/api-server.ts";
import { createApp } from "../../services/api/app.ts";
import type { ApiDeps } from "../../services/api/deps.ts";
import { createSandbox, type Sandbox } from "./pipeline-harness.ts";

export interface ApiHarness {
  sandbox: Sandbox;
  deps: ApiDeps;
  app: ReturnType<typeof createApp>;
  queueSet: QueueSet;
  close(): Promise<void>;
}

/**
 * The API on the embedded store and queue in a temp folder, as `vodpipe start` builds it (the
 * tus file store included), with settings from `env` and any deps overridden.
 */
export async function createApiHarness(env: Record<string, string> = {}, overrides: Partial<ApiDeps> = {}): Promise<ApiHarness> {
  const sandbox = await createSandbox(env);
  const config = loadConfig(sandbox.env);
  if (config.storage.kind !== "fs") throw new Error("the API harness runs on the filesystem store");
  const store = createFsObjectStore({ root: config.storage.root });
  const queueSet = await openQueueSet(config);
  const deps: ApiDeps = {
    store,
    ingestQueue: queueSet.queues.ingest,
    config,
    logger: silentLogger(),
    tus: await createFileTus(store, join(config.dataDir, "uploads")),
    healthChecks: { store: () => store.list("", { limit: 1 }), "queue:ingest": () => queueSet.queues.ingest.depth() },
    ...overrides,
  };
  return {
    sandbox,
    deps,
    app: createApp(deps),
    queueSet,
    async close() {
      await queueSet.close();
      await sandbox.cleanup();
    },
  };
}

/** A body sent as a stream with no Content-Length, so only counting can enforce a size limit. */
export function streamedBody(bytes: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const size = Math.min(chunk, bytes - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(7));
    },
  });
}
