import { S3Client } from "@aws-sdk/client-s3";
import type { Config } from "../config.ts";
import type { ObjectStore } from "../ports.ts";
import { createFsObjectStore } from "./fs-object-store.ts";
import { createS3ObjectStore } from "./s3-object-store.ts";

/**
 * Builds the configured ObjectStore. Entry-level wiring: this is where the S3 client is made.
 * The region falls back to AWS_REGION, then us-east-1 (S3-compatible servers ignore it).
 */
export function createObjectStore(
  config: Pick<Config, "storage">,
  env: Record<string, string | undefined> = process.env,
): ObjectStore {
  const storage = config.storage;
  if (storage.kind === "fs") return createFsObjectStore({ root: storage.root });
  const client = new S3Client({
    region: storage.region ?? env.AWS_REGION ?? "us-east-1",
    ...(storage.endpoint === undefined ? {} : { endpoint: storage.endpoint }),
    forcePathStyle: storage.forcePathStyle,
    // Without a timeout a request whose answer never comes would hold its handler for ever.
    requestHandler: { socketTimeout: storage.requestTimeoutSeconds * 1000, connectionTimeout: storage.requestTimeoutSeconds * 1000 },
  });
  return createS3ObjectStore({ client, bucket: storage.bucket });
}
