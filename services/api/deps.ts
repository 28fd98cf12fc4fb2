import type { DataStore } from "@tus/server";
import type { Hono } from "hono";
import type { Config } from "../../shared/config.ts";
import type { Logger } from "../../shared/logger.ts";
import type { ObjectStore, Queue } from "../../shared/ports.ts";
import type { DirectUploads } from "./direct-uploads.ts";

/** What the API needs, built by the composition root (app/) and passed to createApp. */
export interface ApiDeps {
  store: ObjectStore;
  /** Where a finished upload is announced: ingest's queue. */
  ingestQueue: Queue;
  config: Readonly<Config>;
  logger: Logger;
  now?: () => Date;
  /** Resumable uploads (tus): the file store embedded, the S3 store on S3. Absent: no /v1/uploads. */
  tus?: {
    datastore: DataStore;
    /** Object key prefix of tus uploads inside the store's bucket (S3: `uploads/`), "" for the file store. */
    idPrefix: string;
    /** Largest tus upload (default VODPIPE_MAX_FILE_BYTES). */
    maxBytes?: number;
    /** Moves a finished tus upload to where ingest reads it; returns its object key. */
    finish(tusId: string, sourceKey: string): Promise<string>;
  };
  /** Presigned direct-to-bucket uploads (S3 only). */
  directUploads?: DirectUploads;
  /** /healthz: each named check resolves when its part (store, a queue) answers. */
  healthChecks?: Readonly<Record<string, () => Promise<unknown>>>;
  /** The web player's routes (`/`, `/watch/{id}`, `/player/…`), mounted after the API's. */
  player?: Hono;
  /** How often an event stream looks at its video (default 1000 ms). */
  eventPollMs?: number;
}

export function nowOf(deps: Pick<ApiDeps, "now">): Date {
  return deps.now ? deps.now() : new Date();
}
