import { Readable } from "node:stream";
import { OpenAPIHono, createRoute, z, type RouteHandler } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { keys } from "../../../shared/keys.ts";
import { serialize } from "../../../shared/messages.ts";
import { newVideoId } from "../../../shared/video-id.ts";
import { isVideoDeleted, purgeVideoObjects } from "../../../shared/video-removal.ts";
import { nowOf, type ApiDeps } from "../deps.ts";
import { apiError, requireApiKey } from "../http-errors.ts";
import { errorResponses, ListQuery, UploadQuery, Video, VideoIdParam, VideoList, jsonResponse } from "../schemas.ts";
import { deleteVideo, loadVideo, videoOptions } from "../video-service.ts";
import { createUploadRecord, listCatalog, removeCatalogEntry, writeUploadRecord } from "../video-records.ts";
import { readStoredVideo, toVideoObject } from "../video-view.ts";

const uploadRoute = createRoute({
  method: "post",
  path: "/v1/videos",
  tags: ["videos"],
  summary: "Upload a video as the raw request body (curl -T clip.mp4)",
  security: [{ bearer: [] }],
  request: {
    query: UploadQuery,
    body: { content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } }, required: true },
  },
  responses: { 201: jsonResponse("Uploaded and queued", Video), ...errorResponses(400, 401, 413) },
});

/** `curl -T file` sends a PUT: the same upload, so the shortest command works. */
const uploadPutRoute = createRoute({ ...uploadRoute, method: "put", summary: "The same upload as POST (what `curl -T clip.mp4` sends)" });

const listRoute = createRoute({
  method: "get",
  path: "/v1/videos",
  tags: ["videos"],
  summary: "List videos, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonResponse("A page of videos", VideoList), ...errorResponses(400) },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/videos/{id}",
  tags: ["videos"],
  summary: "A video: status, progress with ETA, renditions, playback URLs",
  request: { params: VideoIdParam },
  responses: { 200: jsonResponse("The video", Video), ...errorResponses(400, 404) },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/videos/{id}",
  tags: ["videos"],
  summary: "Delete a video and every file of it; work still running for it stops",
  security: [{ bearer: [] }],
  request: { params: VideoIdParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 404) },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/v1/videos/{id}/events",
  tags: ["videos"],
  summary: "Server-sent events: `event: video` with the video object on every change; ends after ready or failed",
  request: { params: VideoIdParam },
  responses: { 200: { description: "An event stream", content: { "text/event-stream": { schema: z.string() } } }, ...errorResponses(400, 404) },
});

export function videoRoutes(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono();
  const { store, config } = deps;
  const auth = requireApiKey(config.api.apiKey);
  app.use("/v1/videos", async (c, next) => (c.req.method === "POST" || c.req.method === "PUT" ? auth(c, next) : next()));
  app.on("DELETE", "/v1/videos/:id", auth);

  const upload: RouteHandler<typeof uploadRoute> = async (c) => {
    const maxBytes = config.limits.maxFileBytes;
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
    const body = c.req.raw.body;
    if (!body || declared === "0") throw apiError(400, "The request body is empty: send the video's bytes as the body (curl -T clip.mp4 …).");
    const filename = cleanFilename(c.req.valid("query").filename ?? c.req.header("x-filename"));
    const videoId = newVideoId();
    const record = await createUploadRecord(store, { videoId, filename, size: declared === undefined ? null : Number(declared), via: "raw" }, nowOf(deps));
    let received = 0;
    try {
      received = await streamToStore(deps, record.sourceKey, body, maxBytes);
    } catch (error) {
      await removeUpload(deps, videoId, record.createdAt);
      if (error instanceof TooLargeError) throw tooLarge(maxBytes);
      throw apiError(400, "The upload was cut off before the whole body arrived; send it again.");
    }
    if (received === 0) {
      await removeUpload(deps, videoId, record.createdAt);
      throw apiError(400, "The request body is empty: send the video's bytes as the body (curl -T clip.mp4 …).");
    }
    if (await deletedMeanwhile(deps, videoId)) throw apiError(404, `Video ${videoId} was deleted while it uploaded.`);
    await writeUploadRecord(store, { ...record, status: "uploaded", size: received, updatedAt: nowOf(deps).toISOString() });
    await deps.ingestQueue.send(
      serialize({ type: "source-uploaded", version: 1, videoId, sourceKey: record.sourceKey, ...(filename ? { originalName: filename } : {}) }),
    );
    c.header("location", `/v1/videos/${videoId}`);
    return c.json(await loadVideo(deps, videoId), 201);
  };
  app.openapi(uploadRoute, upload);
  app.openapi(uploadPutRoute, upload as unknown as RouteHandler<typeof uploadPutRoute>);

  app.openapi(listRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const page = await listCatalog(store, limit, cursor);
    const options = videoOptions(deps);
    const videos = await Promise.all(
      page.ids.map(async (id) => {
        const stored = await readStoredVideo(store, id);
        return stored ? toVideoObject(store, stored, options) : undefined;
      }),
    );
    return c.json({ data: videos.filter((video) => video !== undefined), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => c.json(await loadVideo(deps, c.req.valid("param").id), 200));

  app.openapi(deleteRoute, async (c) => {
    await deleteVideo(deps, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid("param");
    let last = JSON.stringify(await loadVideo(deps, id));
    c.header("cache-control", "no-store");
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      let sequence = 0;
      let quietMs = 0;
      await stream.writeSSE({ event: "video", data: last, id: String(sequence++) });
      const pollMs = deps.eventPollMs ?? 1000;
      while (open && !isFinal(last)) {
        await stream.sleep(pollMs);
        const stored = await readStoredVideo(store, id);
        if (!stored) {
          await stream.writeSSE({ event: "deleted", data: JSON.stringify({ id }), id: String(sequence++) });
          break;
        }
        const current = JSON.stringify(await toVideoObject(store, stored, videoOptions(deps)));
        // The ETA ticks every second on its own; only real changes (or a keep-alive) are sent.
        if (withoutEta(current) !== withoutEta(last)) {
          await stream.writeSSE({ event: "video", data: current, id: String(sequence++) });
          quietMs = 0;
        } else if ((quietMs += pollMs) >= 15_000) {
          await stream.write(": keep-alive\n\n");
          quietMs = 0;
        }
        last = current;
      }
    });
  });

  return app;
}

class TooLargeError extends Error {}

function tooLarge(maxBytes: number) {
  return apiError(413, `The video is larger than the limit of ${maxBytes} bytes (VODPIPE_MAX_FILE_BYTES).`);
}

/** Streams the body into the store, counting: past the limit it stops at once (never buffered whole). */
async function streamToStore(deps: ApiDeps, key: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<number> {
  let received = 0;
  async function* limited() {
    for await (const chunk of Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>)) {
      received += (chunk as Buffer).byteLength;
      if (received > maxBytes) throw new TooLargeError();
      yield chunk;
    }
  }
  await deps.store.put(key, Readable.from(limited(), { objectMode: false }));
  return received;
}

/** An upload that never completed leaves nothing behind, not even a tombstone. */
async function removeUpload(deps: ApiDeps, videoId: string, createdAt: string): Promise<void> {
  await deps.store.deletePrefix(keys.sourcePrefix(videoId));
  await deps.store.deletePrefix(keys.videoPrefix(videoId));
  await removeCatalogEntry(deps.store, videoId, createdAt);
}

/** A DELETE may have arrived while the bytes streamed in: then what arrived goes too. */
async function deletedMeanwhile(deps: ApiDeps, videoId: string): Promise<boolean> {
  const stored = await readStoredVideo(deps.store, videoId);
  if (stored) return false;
  if (await isVideoDeleted(deps.store, videoId)) await purgeVideoObjects(deps.store, videoId);
  return true;
}

/** The uploader's file name, for display: no folders, no control characters, at most 255 characters. */
export function cleanFilename(name: string | undefined | null): string | null {
  if (!name) return null;
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // Not percent-encoded: keep it as sent.
  }
  const base = decoded.split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return base || null;
}

function isFinal(json: string): boolean {
  const status = (JSON.parse(json) as { status: string }).status;
  return status === "ready" || status === "failed";
}

function withoutEta(json: string): string {
  return json.replace(/"etaSeconds":(\d+|null)/, "").replace(/"updatedAt":"[^"]*"/, "");
}
