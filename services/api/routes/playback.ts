import { Readable } from "node:stream";
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { keys } from "../../../shared/keys.ts";
import type { ObjectInfo } from "../../../shared/ports.ts";
import { assertSafeKey, contentTypeForKey } from "../../../shared/storage/object-key.ts";
import { isVideoId } from "../../../shared/messages.ts";
import { nowOf, type ApiDeps } from "../deps.ts";
import { apiError, errorResponse } from "../http-errors.ts";
import { verifyPlaybackToken } from "../playback-token.ts";
import { errorResponses } from "../schemas.ts";
import { noSuchVideo, loadVideo } from "../video-service.ts";
import { parseRange } from "./byte-range.ts";

/** Segments, images and VTT never change once written (the same video id always has the same bytes). */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** Playlists and the manifest are re-read soon: they only appear once the video is ready. */
export const SHORT = "public, max-age=10";
/** How long a presigned redirect target lives (the redirect itself is cached for less). */
const PRESIGN_SECONDS = 3600;

const playbackRoute = createRoute({
  method: "get",
  path: "/v1/videos/{id}/{tree}/{path}",
  tags: ["playback"],
  summary: "The HLS tree (hls/master.m3u8 and everything it names) and thumbnails (poster.webp, storyboard.vtt, sheets)",
  description:
    "Byte ranges (206/416), ETag and If-None-Match (304), CORS for any origin. With signed playback the same tree is at /v1/play/{token}/{id}/… and the plain path answers 401. With S3 storage, files other than playlists redirect to presigned or public URLs.",
  request: {
    params: z.object({
      id: z.string().openapi({ param: { name: "id", in: "path" } }),
      tree: z.enum(["hls", "thumbnails"]).openapi({ param: { name: "tree", in: "path" } }),
      path: z.string().openapi({ param: { name: "path", in: "path" }, example: "master.m3u8" }),
    }),
  },
  responses: {
    200: { description: "The file" },
    206: { description: "The requested byte range" },
    302: { description: "S3 storage: the file's presigned or public URL" },
    304: { description: "Not modified" },
    ...errorResponses(400, 401, 403, 404, 416),
  },
});

export function playbackRoutes(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono();
  const signingKey = deps.config.api.playbackSigningKey;
  // Documented once; served by the handlers below for any depth of path.
  app.openAPIRegistry.registerPath(playbackRoute);

  app.on(["GET", "HEAD"], "/v1/videos/:id/:tree{hls|thumbnails}/*", async (c) => {
    if (signingKey) {
      throw apiError(401, "Playback of this server is signed: use the URLs in the video's `playback` object (they carry a token).");
    }
    return serve(c, deps, c.req.param("id"), c.req.param("tree") as Tree, rest(c, 4));
  });

  app.on(["GET", "HEAD"], "/v1/play/:token/:id/:tree{hls|thumbnails}/*", async (c) => {
    const id = c.req.param("id");
    if (!signingKey) throw apiError(404, "Signed playback is not enabled on this server; use /v1/videos/{id}/hls/… instead.");
    assertVideoId(id);
    const check = verifyPlaybackToken(c.req.param("token"), id, signingKey, Math.floor(nowOf(deps).getTime() / 1000));
    if (!check.ok) {
      const message =
        check.problem === "expired"
          ? "The playback token has expired: fetch the video again for fresh playback URLs."
          : "The playback token is not valid for this video: use the URLs in the video's `playback` object.";
      throw apiError(403, message);
    }
    return serve(c, deps, id, c.req.param("tree") as Tree, rest(c, 5));
  });
  return app;
}

type Tree = "hls" | "thumbnails";

/** The path after the first `skip` segments (`/v1/videos/{id}/hls` is 4), decoded. */
function rest(c: Context, skip: number): string {
  const segments = c.req.path.split("/").slice(skip + 1);
  try {
    return segments.map(decodeURIComponent).join("/");
  } catch {
    throw apiError(400, "The file path is not valid percent-encoding.");
  }
}

async function serve(c: Context, deps: ApiDeps, videoId: string, tree: Tree, path: string): Promise<Response> {
  assertVideoId(videoId);
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path)) throw apiError(404, `No file ${tree}/${path} exists for video ${videoId}.`);
  const key = keys.output(videoId, tree === "hls" ? path : `thumbnails/${path}`);
  try {
    assertSafeKey(key);
  } catch {
    throw apiError(404, `No file ${tree}/${path} exists for video ${videoId}.`);
  }
  const { store } = deps;
  const info = await store.head(key);
  if (!info) return missing(deps, videoId, tree, path);
  const isPlaylist = key.endsWith(".m3u8") || key.endsWith(".json");
  const cacheControl = isPlaylist ? SHORT : IMMUTABLE;

  if (deps.config.storage.kind === "s3") {
    const base = deps.config.api.publicBaseUrl;
    // Playlists stay on this server without a public base, so their relative URIs keep coming here
    // (a presigned playlist URL would make every segment URI resolve against the bucket, unsigned).
    if (base) return redirect(`${base}/${key}`, "public, max-age=300");
    if (!isPlaylist && store.presign) return redirect(await store.presign(key, { method: "GET", expiresInSeconds: PRESIGN_SECONDS }), "private, max-age=300");
  }

  const headers: Record<string, string> = {
    "content-type": contentTypeForKey(key),
    "cache-control": cacheControl,
    "accept-ranges": "bytes",
    "last-modified": info.lastModified.toUTCString(),
  };
  const etag = etagOf(info);
  if (etag) headers.etag = etag;
  if (etag && matchesEtag(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });

  const rangeHeader = c.req.header("range");
  const ifRange = c.req.header("if-range");
  const range = rangeHeader && (!ifRange || ifRange === etag) ? parseRange(rangeHeader, info.size) : undefined;
  if (range === "unsatisfiable") {
    return errorResponse(416, `The requested range is outside the file (${info.size} bytes).`, { "content-range": `bytes */${info.size}` });
  }
  const head = c.req.method === "HEAD";
  if (range) {
    headers["content-range"] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers["content-length"] = String(range.end - range.start + 1);
    const body = head ? null : await store.get(key, range);
    return new Response(body && toWeb(body), { status: 206, headers });
  }
  headers["content-length"] = String(info.size);
  const body = head || info.size === 0 ? null : await store.get(key);
  return new Response(body && toWeb(body), { status: 200, headers });
}

function assertVideoId(id: string): void {
  if (!isVideoId(id)) throw apiError(400, `"${id}" is not a video id (1-64 letters, digits, '-' or '_').`);
}

/** A useful 404: the video does not exist, is not ready yet (with its progress), or lacks that file. */
async function missing(deps: ApiDeps, videoId: string, tree: Tree, path: string): Promise<never> {
  const video = await loadVideo(deps, videoId).catch(() => undefined);
  if (!video) throw noSuchVideo(videoId);
  if (video.status !== "ready" && video.status !== "failed") {
    throw apiError(404, `Video ${videoId} is still ${video.status} (${video.progress}%); its files appear as they are made and the playlist once it is ready.`);
  }
  if (video.status === "failed") throw apiError(404, `Video ${videoId} failed, so it has no ${tree}/${path}: ${video.reason}`);
  throw apiError(404, `No file ${tree}/${path} exists for video ${videoId}.`);
}

function redirect(location: string, cacheControl: string): Response {
  return new Response(null, { status: 302, headers: { location, "cache-control": cacheControl } });
}

function etagOf(info: ObjectInfo): string | undefined {
  if (!info.etag) return undefined;
  return info.etag.startsWith('"') || info.etag.startsWith("W/") ? info.etag : `"${info.etag}"`;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const strip = (value: string) => value.trim().replace(/^W\//, "");
  return header.split(",").some((candidate) => strip(candidate) === strip(etag));
}

/**
 * A web stream that pulls whole chunks from the file stream (64 KiB reads): under many concurrent
 * requests Readable.toWeb serves several times fewer (bench/README.md, `npm run bench:serve`).
 */
function toWeb(stream: Readable): ReadableStream<Uint8Array> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel() {
      stream.destroy();
    },
  });
}
