import { z } from "@hono/zod-openapi";
import { VIDEO_ID_PATTERN } from "../../shared/messages.ts";

/** Request and response shapes, declared once: routes validate with them and /openapi.json is made from them. */

export const VideoIdParam = z.object({
  id: z
    .string()
    .regex(VIDEO_ID_PATTERN)
    .openapi({ param: { name: "id", in: "path" }, example: "mfx3k2a01b2c3d4e5" }),
});

export const ErrorBody = z
  .object({
    error: z.object({
      status: z.number().int().openapi({ example: 404 }),
      message: z.string().openapi({ example: "No video with id mfx3k2a01b2c3d4e5 exists." }),
    }),
  })
  .openapi("Error");

/** A documented response whose body is JSON of `schema`. */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { "application/json": { schema } } };
}

/** The documented error responses of a route, all in the one error shape. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, jsonResponse("Error", ErrorBody)]));
}

export const Rendition = z
  .object({
    name: z.string().openapi({ example: "720p" }),
    width: z.number().int(),
    height: z.number().int(),
    bandwidth: z.number().int().openapi({ description: "Planned video bitrate in bits/s (the master playlist's BANDWIDTH once ready)." }),
    status: z.enum(["pending", "processing", "ready"]),
    quality: z
      .object({
        psnr: z.number().openapi({ description: "Luma PSNR against the source scaled to this rendition, dB (mean over frames)." }),
        ssim: z.number().openapi({ description: "Luma SSIM against the source scaled to this rendition, 0-1 (mean over frames)." }),
      })
      .nullable()
      .openapi({ description: "Measured by the encoder; null until ready. Per chunk in manifest.json." }),
  })
  .openapi("Rendition");

export const Video = z
  .object({
    id: z.string(),
    status: z.enum(["uploading", "queued", "processing", "ready", "failed"]),
    progress: z.number().min(0).max(100).openapi({ description: "0-100, from each chunk's encode progress." }),
    etaSeconds: z.number().int().nullable(),
    stage: z.string().nullable().openapi({ description: "What runs now: uploading, queued, ingesting, splitting, encoding, publishing." }),
    playable: z.boolean().openapi({ description: "A player can start it from the beginning: true long before ready (the playlists grow until then)." }),
    reason: z.string().nullable().openapi({ description: "Why the video failed, in words." }),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    filename: z.string().nullable(),
    size: z.number().int().nullable(),
    duration: z.number().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    renditions: z.array(Rendition),
    playback: z.object({
      hls: z.string().nullable().openapi({ description: "The master playlist (an absolute path on this server)." }),
      poster: z.string().nullable(),
      storyboard: z.string().nullable().openapi({ description: "WebVTT of storyboard tiles (`#xywh=`), for seek previews." }),
    }),
  })
  .openapi("Video");

export const VideoList = z
  .object({
    data: z.array(Video),
    nextCursor: z.string().nullable(),
  })
  .openapi("VideoList");

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "nextCursor of the previous page." }),
});

export const UploadQuery = z.object({
  filename: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "filename", in: "query" }, description: "The file's name; its extension is kept (also `X-Filename`)." }),
});

export const Health = z
  .object({
    ok: z.boolean(),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
  })
  .openapi("Health");

export const PresignedUploadRequest = z
  .object({
    filename: z.string().min(1).max(512).openapi({ example: "holiday.mp4" }),
    size: z.number().int().positive().openapi({ description: "Bytes; over 100 MiB gives a multipart upload." }),
    contentType: z.string().max(200).optional(),
    partSize: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .max(5 * 1024 * 1024 * 1024)
      .optional()
      .openapi({ description: "Bytes per part (S3's 5 MiB to 5 GiB): a multipart upload whatever the size, for clients that upload in parts of their own." }),
  })
  .openapi("PresignedUploadRequest");

export const PresignedUpload = z
  .object({
    video: Video,
    method: z.enum(["PUT", "multipart"]),
    url: z.string().optional().openapi({ description: "PUT the whole file here (single upload)." }),
    expiresAt: z.string(),
    multipart: z
      .object({
        uploadId: z.string(),
        partSize: z.number().int(),
        parts: z.array(z.object({ partNumber: z.number().int(), url: z.string() })),
        completeUrl: z.string().openapi({ description: "POST { parts: [{ partNumber, etag }] } here when every part is up." }),
      })
      .optional(),
  })
  .openapi("PresignedUpload");

export const CompleteMultipart = z
  .object({ parts: z.array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) })).min(1) })
  .openapi("CompleteMultipart");

export type VideoObject = z.infer<typeof Video>;
