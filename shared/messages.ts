import { z } from "zod";
import { ForeignMessageError, InvalidMessageError } from "./errors.ts";

/**
 * Every message between services: a discriminated union on `type`, with a `version` so a
 * deployment can drain old messages while new workers roll out. Validated at the edge
 * (the worker runtime) before a handler sees it.
 */
/** A video id: 1-64 letters, digits, '-' or '_', not starting with a symbol; safe in keys and URLs. */
export const VIDEO_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isVideoId(value: unknown): value is string {
  return typeof value === "string" && VIDEO_ID_PATTERN.test(value);
}

const videoId = z.string().regex(VIDEO_ID_PATTERN, "videoId: 1-64 letters, digits, '-' or '_'");

/** The fields every message has: its type, the schema version, and the video it is about. */
const videoMessage = <T extends string>(type: T) => z.object({ type: z.literal(type), version: z.literal(1), videoId });

export const sourceUploadedMessage = videoMessage("source-uploaded").extend({
  /** Object key of the uploaded file, e.g. `sources/{videoId}/source.mp4`: always under its own video's prefix. */
  sourceKey: z.string().min(1),
  /** The name the uploader gave the file, for display only. */
  originalName: z.string().max(512).optional(),
}).refine((message) => message.sourceKey.startsWith(`sources/${message.videoId}/`) && !message.sourceKey.split("/").includes(".."), {
  message: "sourceKey must lie under sources/<videoId>/ of its own video",
  path: ["sourceKey"],
});

export const splitSourceMessage = videoMessage("split-source");

export const transcodeChunkMessage = videoMessage("transcode-chunk").extend({
  chunkIndex: z.number().int().min(0),
  /** Where the chunk's first output frame sits in the chunk file, in seconds from its start. */
  seekSeconds: z.number().min(0),
});

/** The lead rung (the job plan's `leadRung`), encoded for the whole video from the source. */
export const encodeRungMessage = videoMessage("encode-rung").extend({
  rendition: z.string().min(1).max(32),
});

export const encodeAudioMessage = videoMessage("encode-audio");
export const makeThumbnailsMessage = videoMessage("make-thumbnails");
export const publishVideoMessage = videoMessage("publish-video");

/** A video's state changed in a way a webhook receiver hears about; delivered by the webhook stage. */
export const videoEventMessage = videoMessage("video-event").extend({
  /** video.progress: a part finished; the webhook stage decides whether it is worth a delivery. */
  event: z.enum(["video.ready", "video.failed", "video.progress"]),
  /** When it happened (ISO 8601): the receiver's ordering key, since deliveries may come late or twice. */
  occurredAt: z.string().min(1).max(40),
});

export const pipelineMessage = z.discriminatedUnion("type", [
  sourceUploadedMessage,
  splitSourceMessage,
  transcodeChunkMessage,
  encodeRungMessage,
  encodeAudioMessage,
  makeThumbnailsMessage,
  publishVideoMessage,
  videoEventMessage,
]);

export type SourceUploadedMessage = z.infer<typeof sourceUploadedMessage>;
export type SplitSourceMessage = z.infer<typeof splitSourceMessage>;
export type TranscodeChunkMessage = z.infer<typeof transcodeChunkMessage>;
export type EncodeRungMessage = z.infer<typeof encodeRungMessage>;
export type EncodeAudioMessage = z.infer<typeof encodeAudioMessage>;
export type MakeThumbnailsMessage = z.infer<typeof makeThumbnailsMessage>;
export type PublishVideoMessage = z.infer<typeof publishVideoMessage>;
export type VideoEventMessage = z.infer<typeof videoEventMessage>;
export type PipelineMessage = z.infer<typeof pipelineMessage>;
export type MessageType = PipelineMessage["type"];

/** The pipeline's stages; each has a queue `<prefix><stage>` and its twin `<prefix><stage>-dlq`. */
export const STAGES = ["ingest", "split", "lead", "transcode", "audio", "thumbnails", "publish", "webhook"] as const;
export type Stage = (typeof STAGES)[number];

/** Which queue carries which message type: one exhaustive map. */
export const STAGE_OF: { readonly [T in MessageType]: Stage } = {
  "source-uploaded": "ingest",
  "split-source": "split",
  "transcode-chunk": "transcode",
  "encode-rung": "lead",
  "encode-audio": "audio",
  "make-thumbnails": "thumbnails",
  "publish-video": "publish",
  "video-event": "webhook",
};

/** The AWS S3 ObjectCreated notification as delivered to SQS (only the fields ingest reads). */
export const s3EventNotification = z.object({
  Records: z
    .array(
      z.object({
        eventSource: z.literal("aws:s3"),
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({ key: z.string(), size: z.number().optional() }),
        }),
      }),
    )
    .min(1),
});
export type S3EventNotification = z.infer<typeof s3EventNotification>;

/** What may arrive on the ingest queue: our own message, an S3 notification, or S3's test event. */
export type IngestInput =
  | { kind: "message"; message: SourceUploadedMessage }
  | { kind: "s3-event"; event: S3EventNotification }
  | { kind: "s3-test-event" };

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new InvalidMessageError(`message body is not JSON: ${(error as Error).message}`);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** The message version this code writes and reads. */
export const MESSAGE_VERSION = 1;

/**
 * A message written by a newer deployment (a higher `version`) is not invalid, only not for this
 * worker: it goes back to the queue for an up-to-date worker (a rolling deploy), and is
 * dead-lettered if none comes, without failing the video.
 */
function assertNotNewer(json: unknown): void {
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === "number" && Number.isInteger(version) && version > MESSAGE_VERSION) {
    throw new ForeignMessageError(`message version ${version} is newer than this worker's ${MESSAGE_VERSION}; left for a newer worker`, {
      reason: "the video waits for an up-to-date worker (a deployment is in progress)",
    });
  }
}

/** Parses and validates a pipeline message; an invalid one is an InvalidMessageError (permanent). */
export function parseMessage(body: string): PipelineMessage {
  const json = parseJson(body);
  assertNotNewer(json);
  const parsed = pipelineMessage.safeParse(json);
  if (!parsed.success) throw new InvalidMessageError(`invalid message: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Parses a message that must be of one type (a stage's own queue). Another stage's message here
 * landed on the wrong queue (a deploy that routes differently): it is retried, then
 * dead-lettered for an operator to redrive, and never fails the video.
 */
export function parseMessageOf<T extends MessageType>(body: string, type: T): Extract<PipelineMessage, { type: T }> {
  const message = parseMessage(body);
  if (message.type !== type) {
    throw new ForeignMessageError(`a ${message.type} message on the ${STAGE_OF[type]} queue (expected ${type})`, {
      videoId: message.videoId,
      reason: "a message about the video reached the wrong queue; an operator must redrive it",
    });
  }
  return message as Extract<PipelineMessage, { type: T }>;
}

/** Parses a body from the ingest queue: vodpipe's own message or an S3 event notification. */
export function parseIngestBody(body: string): IngestInput {
  const json = parseJson(body);
  if (json && typeof json === "object" && (json as { Event?: unknown }).Event === "s3:TestEvent") {
    return { kind: "s3-test-event" };
  }
  if (json && typeof json === "object" && "Records" in json) {
    const event = s3EventNotification.safeParse(json);
    if (!event.success) throw new InvalidMessageError(`invalid S3 event: ${describeIssues(event.error)}`);
    return { kind: "s3-event", event: event.data };
  }
  assertNotNewer(json);
  const known = pipelineMessage.safeParse(json);
  if (known.success && known.data.type !== "source-uploaded") {
    throw new ForeignMessageError(`a ${known.data.type} message on the ingest queue`, { videoId: known.data.videoId });
  }
  const message = sourceUploadedMessage.safeParse(json);
  if (!message.success) throw new InvalidMessageError(`invalid message: ${describeIssues(message.error)}`);
  return { kind: "message", message: message.data };
}

/** S3 notifications URL-encode keys with '+' for spaces; a malformed escape is an invalid message, not a retry. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, " "));
  } catch {
    throw new InvalidMessageError(`invalid S3 event: the object key ${JSON.stringify(key.slice(0, 200))} has a malformed URL escape`);
  }
}

export function serialize(message: PipelineMessage): string {
  return JSON.stringify(message);
}
