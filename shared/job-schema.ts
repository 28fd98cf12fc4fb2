import { z } from "zod";
import type { JobRecord } from "./job.ts";

/**
 * The job record (`videos/<id>/job.json`) as a zod schema, from which docs/schemas/job-record.schema.json
 * is generated (`npm run docs:schemas`). The check at the bottom keeps it and the JobRecord type in step.
 */
const rational = z.object({ num: z.number().int().positive(), den: z.number().int().positive() }).strict();

const rendition = z
  .object({
    name: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    videoKbps: z.number(),
    maxrateKbps: z.number(),
    bufsizeKbps: z.number(),
    profile: z.enum(["baseline", "main", "high"]),
  })
  .strict();

const plannedChunk = z
  .object({
    index: z.number().int().min(0),
    startFrame: z.number().int().min(0),
    frameCount: z.number().int().positive(),
    firstSegment: z.number().int().min(0).describe("Index of the chunk's first segment in the whole video (names its files)"),
    keyframeOffsets: z.array(z.number().int().min(0)).describe("Frame offsets from the chunk start where a segment (and an IDR) begins"),
    startTime: z.number().describe("Output time of the first frame, seconds"),
    endTime: z.number(),
    sourceKeyframeTime: z.number().describe("The last source keyframe at or before startTime: where the stream-copied chunk file begins"),
  })
  .strict();

const storedSource = z
  .object({
    formatName: z.string(),
    sizeBytes: z.number().int().min(0),
    streamCount: z.number().int().min(0),
    formatStartTime: z.number(),
    video: z
      .object({
        index: z.number().int().min(0),
        codec: z.string(),
        codedWidth: z.number().int(),
        codedHeight: z.number().int(),
        rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).describe("Clockwise degrees the picture is turned for display"),
        displayWidth: z.number().int().describe("Sample aspect ratio applied, then rotation"),
        displayHeight: z.number().int(),
        pixelFormat: z.string(),
        hdr: z.enum(["pq", "hlg"]).nullable(),
        fullRange: z.boolean(),
        frameCount: z.number().int().min(0),
        frameRate: rational,
        startTime: z.number(),
        durationSeconds: z.number(),
        maxKeyframeGapSeconds: z.number(),
        timestamped: z.boolean().describe("False for a stream without timestamps (raw H.264/HEVC): cut as one chunk"),
      })
      .strict(),
    audio: z.object({ index: z.number().int(), codec: z.string(), channels: z.number().int(), sampleRate: z.number().int() }).strict().nullable(),
    durationSeconds: z.number().describe("Length of the output: the video track's span"),
  })
  .strict();

const jobPlan = z
  .object({
    segmentSeconds: z.number(),
    x264Preset: z.string(),
    renditions: z.array(rendition),
    chunks: z
      .object({
        frameRate: rational,
        totalFrames: z.number().int().positive(),
        segmentStarts: z.array(z.number().int().min(0)).describe("Start frame of every segment, ascending; the first is 0"),
        chunks: z.array(plannedChunk),
      })
      .strict(),
    toneMap: z.enum(["pq", "hlg"]).nullable(),
    hasAudio: z.boolean(),
    leadRung: z
      .string()
      .nullable()
      .optional()
      .describe("The rendition encoded for the whole video in one pass, first, and published segment by segment (its part is rung-<name>); the chunks make the others. Null or absent: the chunks make every rung"),
    parts: z.array(z.string()).describe("The parts publish waits for: chunk-000…, audio, thumbnails"),
  })
  .strict();

export const qualityWarningSchema = z
  .object({
    rendition: z.string(),
    chunk: z.number().int().min(0),
    psnr: z.number(),
    neighbourPsnr: z.number().describe("The lower of its neighbours' PSNR, which it fell well below"),
    message: z.string(),
  })
  .strict();

const timestamp = z.string().describe("ISO 8601 date and time");

export const jobRecordSchema = z
  .object({
    videoId: z.string(),
    status: z.enum(["processing", "ready", "failed", "deleted"]).describe("`deleted` is the tombstone DELETE leaves so late messages are dropped"),
    reason: z.string().optional().describe("For `failed`: what went wrong, in words a person can act on"),
    failedBecause: z.enum(["input", "processing", "interrupted"]).optional().describe("For `failed`: whose fault"),
    sourceKey: z.string(),
    originalName: z.string().optional(),
    createdAt: timestamp,
    updatedAt: timestamp,
    source: storedSource.optional().describe("What ingest found in the upload"),
    plan: jobPlan.optional().describe("What ingest decided; every later stage reads it"),
    readyAt: timestamp.optional(),
    playableAt: timestamp.optional().describe("When a player could first start the video from the beginning"),
    warnings: z.array(qualityWarningSchema).optional(),
    quality: z
      .record(z.string(), z.object({ psnr: z.number(), ssim: z.number() }).strict())
      .optional()
      .describe("Per rendition name: luma PSNR (dB) and SSIM, frame-weighted means"),
  })
  .strict()
  .describe("One video's state: videos/<videoId>/job.json");

/** True when A and B accept the same documents and name the same top-level fields. */
export type SameShape<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
      ? true
      : false
    : false
  : false;

// Compile-time: the schema and the JobRecord type describe the same documents.
const schemaMatchesJobRecord: SameShape<z.infer<typeof jobRecordSchema>, JobRecord> = true;
void schemaMatchesJobRecord;
