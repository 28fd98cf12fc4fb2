import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { serialize } from "../../../shared/messages.ts";
import { contentTypeForKey } from "../../../shared/storage/object-key.ts";
import { newVideoId } from "../../../shared/video-id.ts";
import { nowOf, type ApiDeps } from "../deps.ts";
import { apiError, requireApiKey } from "../http-errors.ts";
import { CompleteMultipart, errorResponses, PresignedUpload, PresignedUploadRequest, Video, VideoIdParam, jsonResponse } from "../schemas.ts";
import { loadVideo, noSuchVideo } from "../video-service.ts";
import { cleanFilename } from "./videos.ts";
import { createUploadRecord, readUploadRecord, writeUploadRecord } from "../video-records.ts";

/** Files up to this size get one presigned PUT; larger ones a multipart upload. */
export const SINGLE_PUT_MAX_BYTES = 100 * 1024 * 1024;
const MIN_PART_BYTES = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;
const URL_SECONDS = 6 * 3600;

const createDirect = createRoute({
  method: "post",
  path: "/v1/direct-uploads",
  tags: ["uploads"],
  summary: "S3 storage: presigned URLs to upload straight to the bucket (one PUT, or multipart with presigned parts)",
  security: [{ bearer: [] }],
  request: { body: { content: { "application/json": { schema: PresignedUploadRequest } }, required: true } },
  responses: { 201: jsonResponse("Where to send the bytes", PresignedUpload), ...errorResponses(400, 401, 413) },
});

const completeDirect = createRoute({
  method: "post",
  path: "/v1/direct-uploads/{id}/complete",
  tags: ["uploads"],
  summary: "Tell the API the bytes are in the bucket (multipart: with the parts' ETags); queues the video",
  security: [{ bearer: [] }],
  request: { params: VideoIdParam, body: { content: { "application/json": { schema: CompleteMultipart.partial() } }, required: false } },
  responses: { 200: jsonResponse("Queued", Video), ...errorResponses(400, 401, 404, 409) },
});

export function directUploadRoutes(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono();
  const direct = deps.directUploads!;
  const { store } = deps;
  app.use("/v1/direct-uploads", requireApiKey(deps.config.api.apiKey));
  app.use("/v1/direct-uploads/*", requireApiKey(deps.config.api.apiKey));

  app.openapi(createDirect, async (c) => {
    const request = c.req.valid("json");
    const maxBytes = deps.config.limits.maxFileBytes;
    if (request.size > maxBytes) throw apiError(413, `The video is larger than the limit of ${maxBytes} bytes (VODPIPE_MAX_FILE_BYTES).`);
    const partSize = request.partSize ?? Math.max(MIN_PART_BYTES, Math.ceil(request.size / MAX_PARTS));
    const count = Math.ceil(request.size / partSize);
    if (count > MAX_PARTS) throw apiError(400, `A part size of ${partSize} bytes makes ${count} parts; S3 takes at most ${MAX_PARTS}: ask for larger parts.`);
    const videoId = newVideoId();
    const record = await createUploadRecord(store, { videoId, filename: cleanFilename(request.filename), size: request.size, via: "presigned" }, nowOf(deps));
    const contentType = request.contentType ?? contentTypeForKey(record.sourceKey);
    const expiresAt = new Date(nowOf(deps).getTime() + URL_SECONDS * 1000).toISOString();
    const completeUrl = `/v1/direct-uploads/${videoId}/complete`;
    if (request.size <= SINGLE_PUT_MAX_BYTES && request.partSize === undefined) {
      const url = await direct.presignPut(record.sourceKey, contentType, URL_SECONDS);
      return c.json({ video: await loadVideo(deps, videoId), method: "PUT" as const, url, expiresAt }, 201);
    }
    const uploadId = await direct.createMultipart(record.sourceKey, contentType);
    await writeUploadRecord(store, { ...record, multipartUploadId: uploadId });
    const parts = await Promise.all(
      Array.from({ length: count }, async (_, index) => ({
        partNumber: index + 1,
        url: await direct.presignPart(record.sourceKey, uploadId, index + 1, URL_SECONDS),
      })),
    );
    return c.json(
      { video: await loadVideo(deps, videoId), method: "multipart" as const, expiresAt, multipart: { uploadId, partSize, parts, completeUrl } },
      201,
    );
  });

  app.openapi(completeDirect, async (c) => {
    const { id } = c.req.valid("param");
    const record = await readUploadRecord(store, id);
    if (!record || record.via !== "presigned") throw noSuchVideo(id);
    if (record.multipartUploadId) {
      const parts = c.req.valid("json")?.parts;
      if (!parts?.length) throw apiError(400, "A multipart upload completes with { parts: [{ partNumber, etag }] }: the ETag S3 returned for each part.");
      await direct.completeMultipart(record.sourceKey, record.multipartUploadId, parts);
    }
    const info = await store.head(record.sourceKey);
    if (!info) throw apiError(409, "The bucket has no upload for this video yet: PUT the file to the presigned URL first.");
    if (record.status === "uploading") {
      const { multipartUploadId: _done, ...rest } = record;
      await writeUploadRecord(store, { ...rest, status: "uploaded", size: info.size, updatedAt: nowOf(deps).toISOString() });
      // The bucket notification may have started ingest already; a second trigger changes nothing.
      await deps.ingestQueue.send(
        serialize({ type: "source-uploaded", version: 1, videoId: id, sourceKey: record.sourceKey, ...(record.filename ? { originalName: record.filename } : {}) }),
      );
    }
    return c.json(await loadVideo(deps, id), 200);
  });
  return app;
}
