import { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { cors } from "hono/cors";
import type { ApiDeps } from "./deps.ts";
import { errorBody, handleError, notFound } from "./http-errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { playbackRoutes } from "./routes/playback.ts";
import { directUploadRoutes } from "./routes/direct-uploads.ts";
import { tusRoutes, TUS_PATH } from "./routes/tus.ts";
import { videoRoutes } from "./routes/videos.ts";

/** Headers a page on another origin may read: byte ranges for players, Location for uploads. */
const EXPOSED_HEADERS = ["Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Location"];

/**
 * The HTTP API: videos (upload, list, status, events, delete), resumable and direct uploads,
 * playback of the HLS tree and thumbnails, health, the OpenAPI document and its docs page, and
 * the player. Built from its dependencies only, so tests call `app.request()` with no server.
 */
export function createApp(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono({
    // A request that does not match a route's schema: 400 with what was wrong, in the error shape.
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "request";
      return c.json(errorBody(400, `Invalid ${where}: ${describeIssue(where, issue?.message)}`), 400);
    },
  });
  app.onError(handleError(deps.logger));
  app.notFound(notFound);

  // tus answers CORS itself (with its own headers); everything else gets the same open policy:
  // credentials travel in the Authorization header, never in cookies, so any origin may call.
  const openCors = cors({
    origin: "*",
    allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Range", "If-None-Match", "If-Range", "X-Filename"],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  app.use("*", async (c, next) => (c.req.path.startsWith(TUS_PATH) ? next() : openCors(c, next)));

  app.route("/", videoRoutes(deps));
  app.route("/", playbackRoutes(deps));
  if (deps.tus) app.route("/", tusRoutes(deps));
  if (deps.directUploads) app.route("/", directUploadRoutes(deps));
  app.route("/", healthRoutes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "VODPIPE_API_KEY, needed on write routes when the server has one.",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "vodpipe API",
      version: "1",
      description: "Upload videos, follow their processing, play them as HLS. Errors are `{ error: { status, message } }`.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "vodpipe API" }));
  if (deps.player) app.route("/", deps.player);
  return app;
}

function describeIssue(where: string, message: string | undefined): string {
  if (where === "id") return "a video id is 1-64 letters, digits, '-' or '_'.";
  return `${message ?? "not accepted"}.`;
}
