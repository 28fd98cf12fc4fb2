import type { Readable } from "node:stream";

/** Object storage. Keys are relative, slash-separated paths (`videos/abc/master.m3u8`). */
export interface ObjectStore {
  /** A short name for logs and errors, e.g. `fs:/data/objects` or `s3://bucket`. */
  readonly description: string;
  /** Writes the whole object atomically: readers see the old object or the new one, never a part. */
  put(key: string, body: Buffer | Uint8Array | string | Readable, options?: PutOptions): Promise<void>;
  /** Streams the object, or the inclusive byte range [start, end]. Throws NotFoundError if missing. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a whole (small) object into memory. Throws NotFoundError if missing. */
  getBuffer(key: string): Promise<Buffer>;
  /**
   * Writes the object to a local file (created or replaced). Throws NotFoundError if missing. On
   * failure no partial file is left at `path`. The filesystem store copies in the kernel, so moving
   * big files between the store and a temp folder costs next to no CPU.
   */
  download(key: string, path: string, options?: FileOptions): Promise<void>;
  /** Stores a local file as the object, atomically like put. */
  upload(key: string, path: string, options?: PutOptions & FileOptions): Promise<void>;
  /**
   * Copies an object to another key inside the store, atomically like put, without passing the
   * bytes through this process where the store can (S3 CopyObject, a hard link). Throws
   * NotFoundError if `fromKey` is missing.
   */
  copy(fromKey: string, toKey: string, options?: PutOptions): Promise<void>;
  /** Metadata, or undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One page of keys under a prefix, in lexicographic order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes every object under the prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** A time-limited URL to GET or PUT the object, where the adapter can make one. */
  presign?(key: string, options: PresignOptions): Promise<string>;
}

export interface FileOptions {
  /**
   * From now on the caller only reads the local file (and may delete it), never changes it in
   * place: a store on the same filesystem may then hard-link it instead of copying. Work files in
   * a temp folder qualify; a file handed to a person does not.
   */
  readOnly?: boolean;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

export interface ByteRange {
  start: number;
  /** Inclusive, like HTTP Range. Omitted: to the end. */
  end?: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  contentType?: string;
  etag?: string;
}

export interface ListOptions {
  /** Opaque token from a previous page. */
  cursor?: string;
  /** At most this many keys (adapters may cap it; S3 caps at 1000). */
  limit?: number;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Present when there are more keys. */
  nextCursor?: string;
}

export interface PresignOptions {
  method: "GET" | "PUT";
  expiresInSeconds: number;
  contentType?: string;
}

/** Lists every key under a prefix, following cursors. */
export async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { cursor });
    all.push(...page.objects);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** A queue with SQS semantics: at-least-once delivery, visibility timeout, dead-letter queue. */
export interface Queue {
  /** The stage name (`transcode`), without prefix. */
  readonly name: string;
  send(body: string, options?: SendOptions): Promise<string>;
  /** Sends many; splits into batches of 10 where the adapter needs to. Returns the message ids. */
  sendBatch(bodies: string[]): Promise<string[]>;
  /**
   * Receives up to `maxMessages` (1-10) messages, waiting up to `waitSeconds` (0-20) for the first.
   * Each received message is invisible for `visibilityTimeoutSeconds` (default: the queue's).
   */
  receive(options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Acknowledges a message. Deleting with a stale receipt handle is a no-op, never an error. */
  delete(receiptHandle: string): Promise<void>;
  /** Hides the message for `seconds` from now (0 makes it visible again at once). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Approximate counts of visible and in-flight messages. */
  depth(): Promise<QueueDepth>;
}

export interface SendOptions {
  delaySeconds?: number;
}

export interface ReceiveOptions {
  maxMessages?: number;
  waitSeconds?: number;
  visibilityTimeoutSeconds?: number;
  /** Aborting ends a long poll early with whatever has arrived (possibly nothing). */
  signal?: AbortSignal;
}

export interface ReceivedMessage {
  id: string;
  body: string;
  receiptHandle: string;
  /** 1 on the first delivery. */
  receiveCount: number;
  sentAt: Date;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** Queue settings shared by both adapters. */
export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  /** After this many receives without a delete, the next receive moves the message to `<name>-dlq`. */
  maxReceiveCount: number;
}
