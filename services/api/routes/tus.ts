import { Server as TusServer } from "@tus/server";
import { Hono } from "hono";
import { serialize } from "../../../shared/messages.ts";
import { isVideoId } from "../../../shared/messages.ts";
import { newVideoId } from "../../../shared/video-id.ts";
import { nowOf, type ApiDeps } from "../deps.ts";
import { requireApiKey } from "../http-errors.ts";
import { cleanFilename } from "./videos.ts";
import { createUploadRecord, readUploadRecord, writeUploadRecord } from "../video-records.ts";

export const TUS_PATH = "/v1/uploads";

/**
 * Resumable uploads (tus 1.0, @tus/server): a dropped connection or a pause resumes where it
 * stopped. The tus upload id is the video id; the video exists (`uploading`) from the creation
 * request on, and is queued for ingest when the last byte arrives.
 */
export function tusRoutes(deps: ApiDeps): Hono {
  const tus = deps.tus!;
  const { store, logger } = deps;
  const videoIdOf = (tusId: string) => tusId.slice(tus.idPrefix.length);
  const server = new TusServer({
    path: TUS_PATH,
    datastore: tus.datastore,
    maxSize: tus.maxBytes ?? deps.config.limits.maxFileBytes,
    namingFunction: () => `${tus.idPrefix}${newVideoId()}`,
    generateUrl: (_req, { path, id }) => `${path}/${videoIdOf(id)}`,
    getFileIdFromRequest: (_req, lastPath) => (lastPath && isVideoId(lastPath) ? `${tus.idPrefix}${lastPath}` : undefined),
    async onUploadCreate(_req, upload) {
      const filename = cleanFilename(upload.metadata?.filename ?? null);
      await createUploadRecord(store, { videoId: videoIdOf(upload.id), filename, size: upload.size ?? null, via: "tus" }, nowOf(deps));
      return {};
    },
    async onUploadFinish(_req, upload) {
      const videoId = videoIdOf(upload.id);
      const record = await readUploadRecord(store, videoId);
      // Deleted while it uploaded: DELETE already removed the record; the bytes go too.
      if (!record) {
        await tus.datastore.remove(upload.id).catch(() => {});
        return {};
      }
      const sourceKey = await tus.finish(upload.id, record.sourceKey);
      await writeUploadRecord(store, { ...record, sourceKey, status: "uploaded", size: upload.offset, updatedAt: nowOf(deps).toISOString() });
      await deps.ingestQueue.send(
        serialize({ type: "source-uploaded", version: 1, videoId, sourceKey, ...(record.filename ? { originalName: record.filename } : {}) }),
      );
      logger.info({ videoId, bytes: upload.offset }, "tus upload finished; queued for ingest");
      return {};
    },
    onResponseError(_req, error) {
      // tus's own errors (404, 409, 413…) carry a status; anything else is ours, logged, not shown.
      if (error instanceof Error) {
        logger.error({ err: error }, "tus request failed");
        return { status_code: 500, body: "The server failed to handle the upload request; its log has the details.\n" };
      }
      return undefined;
    },
  });
  const app = new Hono();
  const auth = requireApiKey(deps.config.api.apiKey);
  app.use(TUS_PATH, auth);
  app.use(`${TUS_PATH}/*`, auth);
  app.all(TUS_PATH, (c) => server.handleWeb(c.req.raw));
  app.all(`${TUS_PATH}/*`, (c) => server.handleWeb(c.req.raw));
  return app;
}
