import { OpenAPIHono, createRoute } from "@hono/zod-openapi";
import { errorMessage } from "../../../shared/errors.ts";
import type { ApiDeps } from "../deps.ts";
import { Health, jsonResponse } from "../schemas.ts";

/** A check that takes longer than this counts as down: a load balancer must not wait on us. */
const CHECK_TIMEOUT_MS = 5000;

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "200 when the store and every queue answer, 503 naming what does not",
  responses: {
    200: jsonResponse("Healthy", Health),
    503: jsonResponse("Something is unreachable", Health),
  },
});

export function healthRoutes(deps: ApiDeps): OpenAPIHono {
  const app = new OpenAPIHono();
  app.openapi(healthRoute, async (c) => {
    const entries = await Promise.all(
      Object.entries(deps.healthChecks ?? {}).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS, name);
          return [name, { ok: true }] as const;
        } catch (error) {
          deps.logger.warn({ err: error, check: name }, "health check failed");
          return [name, { ok: false, error: firstLine(errorMessage(error)) }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, result]) => result.ok);
    c.header("cache-control", "no-store");
    return ok ? c.json({ ok, checks }, 200) : c.json({ ok, checks }, 503);
  });
  return app;
}

function withTimeout(work: Promise<unknown>, ms: number, name: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms / 1000} s`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}
