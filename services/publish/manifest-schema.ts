import { z } from "zod";
import { qualityWarningSchema } from "../../shared/job-schema.ts";

/**
 * manifest.json, the description publish writes next to master.m3u8. build-outputs.ts builds a
 * `Manifest`, so the compiler holds it to this schema; docs/schemas/manifest.schema.json is
 * generated from it (`npm run docs:schemas`).
 */
const quality = z.object({ psnr: z.number().describe("Luma PSNR, dB"), ssim: z.number().describe("Luma SSIM, 0–1"), frames: z.number().int() }).strict();

const thumbnailFile = z
  .object({ path: z.string(), width: z.number().int(), height: z.number().int(), format: z.enum(["jpeg", "webp"]) })
  .strict();

const rendition = z
  .object({
    name: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    codecs: z.string().describe("RFC 6381 codec string, as in the master playlist's CODECS"),
    frameRate: z.number(),
    bandwidth: z.number().int().describe("Measured peak bitrate, bits/s (the master playlist's BANDWIDTH)"),
    averageBandwidth: z.number().int().describe("Measured average bitrate, bits/s (AVERAGE-BANDWIDTH)"),
    playlist: z.string(),
    iframePlaylist: z.string(),
    segments: z.array(z.string()),
    quality: quality
      .extend({ chunks: z.array(quality.extend({ chunk: z.number().int() }).strict()) })
      .strict()
      .nullable()
      .describe("Frame-weighted means over the rendition, and each chunk's; null when a chunk was not measured"),
  })
  .strict();

export const manifestSchema = z
  .object({
    id: z.string(),
    status: z.literal("ready"),
    durationSeconds: z.number(),
    master: z.literal("master.m3u8"),
    source: z
      .object({
        originalName: z.string().nullable(),
        container: z.string(),
        sizeBytes: z.number().int(),
        durationSeconds: z.number(),
        video: z
          .object({
            codec: z.string(),
            width: z.number().int().describe("Displayed width: aspect ratio and rotation applied"),
            height: z.number().int(),
            rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]),
            frameRate: z.number(),
            hdr: z.enum(["pq", "hlg"]).nullable(),
          })
          .strict(),
        audio: z.object({ codec: z.string(), channels: z.number().int(), sampleRate: z.number().int() }).strict().nullable(),
      })
      .strict(),
    renditions: z.array(rendition),
    audio: z
      .object({
        codecs: z.string(),
        channels: z.number().int(),
        sampleRate: z.number().int(),
        bandwidth: z.number().int(),
        averageBandwidth: z.number().int(),
        playlist: z.string(),
        segments: z.array(z.string()),
      })
      .strict()
      .nullable()
      .describe("null for a video without sound"),
    thumbnails: z
      .object({
        folder: z.string(),
        poster: z
          .object({
            time: z.number().describe("Seconds into the video"),
            entropy: z.number(),
            candidates: z.array(z.object({ time: z.number(), entropy: z.number(), contrast: z.number() }).strict()),
            files: z.array(thumbnailFile),
          })
          .strict(),
        storyboard: z
          .object({
            vtt: z.string(),
            sheets: z.array(thumbnailFile),
            tileWidth: z.number().int(),
            tileHeight: z.number().int(),
            columns: z.number().int(),
            rows: z.number().int(),
            interval: z.number().describe("Seconds between tiles"),
            tileCount: z.number().int(),
          })
          .strict(),
      })
      .strict()
      .nullable(),
    qualityWarnings: z.array(qualityWarningSchema),
    files: z.array(z.string()).describe("Every file of the tree, sorted"),
    timings: z
      .object({
        createdAt: z.string(),
        partsFinishedAt: z.string(),
        processingSeconds: z.number(),
        parts: z.record(z.string(), z.object({ startedAt: z.string(), finishedAt: z.string(), seconds: z.number() }).strict()),
      })
      .strict(),
  })
  .strict()
  .describe("manifest.json: what publish made for one video");

export type Manifest = z.infer<typeof manifestSchema>;
