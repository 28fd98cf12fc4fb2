import { timingSafeEqual, createHash } from "node:crypto";
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../../shared/logger.ts";

/** An error a caller can act on: its message is shown (only below 500, never a stack or a path). */
export function apiError(status: ContentfulStatusCode, message: string, headers?: Record<string, string>): HTTPException {
  return new HTTPException(status, { res: errorResponse(status, message, headers) });
}

export function errorResponse(status: ContentfulStatusCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { status, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

export function errorBody(status: number, message: string) {
  return { error: { status, message } };
}

/** Errors become JSON; a 5xx says only that something failed on our side, and the log has the rest. */
export function handleError(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof HTTPException) {
      if (error.status >= 500) logger.error({ err: error, path: c.req.path }, "request failed");
      if (error.status < 500 && error.res) return withCors(c, error.res);
      const message = error.status < 500 && error.message ? error.message : "The server failed to handle the request; its log has the details.";
      return withCors(c, errorResponse(error.status as ContentfulStatusCode, message));
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, "request failed");
    return withCors(c, errorResponse(500, "The server failed to handle the request; its log has the details."));
  };
}

export const notFound: NotFoundHandler = (c) =>
  withCors(c, errorResponse(404, `Nothing is served at ${c.req.method} ${c.req.path}; /docs lists the API's routes.`));

/** Errors thrown past the cors middleware still need its header, or a page on another origin sees only a network error. */
function withCors(c: Context, response: Response): Response {
  if (c.req.header("origin") && !response.headers.has("access-control-allow-origin")) {
    response.headers.set("access-control-allow-origin", "*");
  }
  return response;
}

/**
 * `Authorization: Bearer <key>` on write routes when a key is configured. The comparison is of
 * SHA-256 digests in constant time, so neither the key's length nor its bytes leak through timing.
 */
export function requireApiKey(apiKey: string | undefined): MiddlewareHandler {
  const expected = apiKey === undefined ? undefined : createHash("sha256").update(apiKey).digest();
  return async (c, next) => {
    if (!expected || c.req.method === "OPTIONS") return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw apiError(401, "This route needs an API key: send it as `Authorization: Bearer <VODPIPE_API_KEY>`.", { "www-authenticate": 'Bearer realm="vodpipe"' });
    }
    const given = createHash("sha256").update(match[1]!).digest();
    if (!timingSafeEqual(given, expected)) {
      throw apiError(401, "The API key is not valid; check VODPIPE_API_KEY.", { "www-authenticate": 'Bearer realm="vodpipe", error="invalid_token"' });
    }
    return next();
  };
}
