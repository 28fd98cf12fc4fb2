import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { classifyAwsError } from "../aws-errors.ts";
import { InfrastructureError, NotFoundError } from "../errors.ts";
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PresignOptions, PutOptions } from "../ports.ts";
import {
  assertDeletablePrefix,
  assertSafeKey,
  assertSafePrefix,
  assertValidRange,
  contentTypeForKey,
  listLimit,
  MAX_LIST_LIMIT,
} from "./object-key.ts";

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
}

/** Streams go up as multipart uploads of 8 MiB parts, four in flight (at most 32 MiB buffered). */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
/** SigV4 presigned URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** ObjectStore on S3 or any S3-compatible server. Every SDK error is classified retryable/permanent. */
export function createS3ObjectStore({ client, bucket }: S3ObjectStoreOptions): ObjectStore {
  const url = (key: string) => `s3://${bucket}/${key}`;

  async function getObject(key: string, range?: ByteRange) {
    assertSafeKey(key);
    if (range) assertValidRange(range);
    const Range = range ? `bytes=${range.start}-${range.end ?? ""}` : undefined;
    try {
      const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range }));
      if (!output.Body) throw new InfrastructureError(`get ${url(key)}: the response has no body`);
      return output.Body;
    } catch (error) {
      if (isNamed(error, "NoSuchKey")) throw new NotFoundError(key);
      throw classifyAwsError(error, `get ${url(key)}`);
    }
  }

  const store: ObjectStore = {
    description: `s3://${bucket}`,

    async put(key: string, body: Buffer | Uint8Array | string | Readable, options: PutOptions = {}): Promise<void> {
      const params = {
        Bucket: bucket,
        Key: key,
        ContentType: options.contentType ?? contentTypeForKey(key),
        CacheControl: options.cacheControl,
      };
      try {
        assertSafeKey(key);
        if (body instanceof Readable) {
          // Upload aborts the multipart upload on failure, so the old object stays as it was.
          await new Upload({ client, params: { ...params, Body: body }, partSize: PART_SIZE, queueSize: QUEUE_SIZE }).done();
        } else {
          await client.send(new PutObjectCommand({ ...params, Body: body }));
        }
      } catch (error) {
        if (body instanceof Readable) body.destroy();
        throw classifyAwsError(error, `put ${url(key)}`);
      }
    },

    async get(key: string, range?: ByteRange): Promise<Readable> {
      const body = await getObject(key, range);
      if (!(body instanceof Readable)) throw new InfrastructureError(`get ${url(key)}: the S3 client did not return a Node.js stream`);
      return body;
    },

    async getBuffer(key: string): Promise<Buffer> {
      const body = await getObject(key);
      try {
        return Buffer.from(await body.transformToByteArray());
      } catch (error) {
        throw classifyAwsError(error, `get ${url(key)}`);
      }
    },

    async download(key: string, path: string): Promise<void> {
      const body = await store.get(key);
      try {
        await pipeline(body, createWriteStream(path));
      } catch (error) {
        await rm(path, { force: true }).catch(() => {}); // a folder at `path` stays as it was
        throw classifyAwsError(error, `get ${url(key)}`);
      }
    },

    async upload(key: string, path: string, options?: PutOptions): Promise<void> {
      assertSafeKey(key);
      // Up to one part, the bytes are sent in one PutObject from memory, which the SDK can resend
      // when it retries; bigger files go up in parts as a stream.
      const { size } = await stat(path);
      await store.put(key, size <= PART_SIZE ? await readFile(path) : createReadStream(path), options);
    },

    async copy(fromKey: string, toKey: string, options: PutOptions = {}): Promise<void> {
      assertSafeKey(fromKey);
      assertSafeKey(toKey);
      try {
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: toKey,
            CopySource: `${bucket}/${fromKey.split("/").map(encodeURIComponent).join("/")}`,
            MetadataDirective: "REPLACE",
            ContentType: options.contentType ?? contentTypeForKey(toKey),
            CacheControl: options.cacheControl,
          }),
        );
      } catch (error) {
        if (isNamed(error, "NoSuchKey") || statusOf(error) === 404) throw new NotFoundError(fromKey);
        throw classifyAwsError(error, `copy ${url(fromKey)} to ${url(toKey)}`);
      }
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      assertSafeKey(key);
      try {
        const output = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          key,
          size: output.ContentLength ?? 0,
          lastModified: output.LastModified ?? new Date(0),
          contentType: output.ContentType,
          etag: output.ETag,
        };
      } catch (error) {
        // HEAD responses have no body, so a missing key arrives as "NotFound" with status 404.
        if (isNamed(error, "NotFound") || isNamed(error, "NoSuchKey") || statusOf(error) === 404) return undefined;
        throw classifyAwsError(error, `head ${url(key)}`);
      }
    },

    async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
      assertSafePrefix(prefix);
      const limit = listLimit(options.limit);
      try {
        const output = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix === "" ? undefined : prefix,
            MaxKeys: limit,
            ContinuationToken: options.cursor,
          }),
        );
        const objects: ObjectInfo[] = (output.Contents ?? []).map((object) => ({
          key: object.Key ?? "",
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
          etag: object.ETag,
        }));
        return output.IsTruncated && output.NextContinuationToken
          ? { objects, nextCursor: output.NextContinuationToken }
          : { objects };
      } catch (error) {
        throw classifyAwsError(error, `list ${url(prefix)}`);
      }
    },

    async deletePrefix(prefix: string): Promise<number> {
      assertSafePrefix(prefix);
      assertDeletablePrefix(prefix);
      let deleted = 0;
      let cursor: string | undefined;
      do {
        // One listed page (at most 1000 keys) is one DeleteObjects batch (at most 1000 keys).
        const page = await store.list(prefix, { cursor, limit: MAX_LIST_LIMIT });
        if (page.objects.length > 0) {
          let errors: { Key?: string; Code?: string; Message?: string }[];
          try {
            const output = await client.send(
              new DeleteObjectsCommand({
                Bucket: bucket,
                Delete: { Objects: page.objects.map((object) => ({ Key: object.key })), Quiet: true },
              }),
            );
            errors = output.Errors ?? [];
          } catch (error) {
            throw classifyAwsError(error, `delete ${url(prefix)}*`);
          }
          if (errors.length > 0) {
            const first = errors[0]!;
            const detail = `delete ${url(prefix)}*: ${errors.length} of ${page.objects.length} objects not deleted, first ${first.Key}: ${first.Code}${first.Message ? ` ${first.Message}` : ""}`;
            throw new InfrastructureError(detail, { reason: "the cloud storage refused to delete work files; vodpipe retries until it works again" });
          }
          deleted += page.objects.length;
        }
        cursor = page.nextCursor;
      } while (cursor);
      return deleted;
    },

    async presign(key: string, { method, expiresInSeconds, contentType }: PresignOptions): Promise<string> {
      assertSafeKey(key);
      if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
        throw new RangeError(`presign expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}, got ${expiresInSeconds}`);
      }
      const command =
        method === "GET"
          ? new GetObjectCommand({ Bucket: bucket, Key: key })
          : new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType ?? contentTypeForKey(key) });
      // At presign time there is no body, so the SDK's default checksum would be the CRC32 of
      // nothing (x-amz-checksum-crc32=AAAAAA==) and S3 would reject every real upload.
      // (Two branches only because the two commands' middleware stacks have different types.)
      if (command instanceof GetObjectCommand) {
        command.middlewareStack.add((next) => (args) => next(withoutChecksumHeaders(args)), DROP_CHECKSUM);
      } else {
        command.middlewareStack.add((next) => (args) => next(withoutChecksumHeaders(args)), DROP_CHECKSUM);
      }
      try {
        return await getSignedUrl(client, command, {
          expiresIn: expiresInSeconds,
          // A presigned PUT then only accepts the content type it was made for.
          ...(method === "PUT" ? { signableHeaders: new Set(["content-type"]) } : {}),
        });
      } catch (error) {
        throw classifyAwsError(error, `presign ${method} ${url(key)}`);
      }
    },
  };
  return store;
}

export const DROP_CHECKSUM = { step: "build", priority: "low", name: "vodpipeDropPresignChecksum" } as const;

/** Presigned requests carry no body to checksum: the SDK's default CRC32-of-nothing header must go. */
export function withoutChecksumHeaders<T extends { request: unknown }>(args: T): T {
  const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith("x-amz-checksum-") || lower === "x-amz-sdk-checksum-algorithm") delete headers[name];
  }
  return args;
}

function isNamed(error: unknown, name: string): boolean {
  return (error as { name?: unknown } | undefined)?.name === name;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
