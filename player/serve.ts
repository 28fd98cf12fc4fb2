import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Hono } from "hono";
import { etag } from "hono/etag";

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** hls.js comes from its npm package; the version is in the path so the browser may keep it forever. */
const HLS_DIST = dirname(require.resolve("hls.js/dist/hls.min.js"));
const HLS_VERSION = (require("hls.js/package.json") as { version: string }).version;
export const HLS_SCRIPT_PATH = `/player/vendor/hls.js/${HLS_VERSION}/hls.min.js`;
const HLS_FILES: Record<string, string> = {
  "hls.min.js": "text/javascript; charset=utf-8",
  "hls.min.js.map": "application/json; charset=utf-8",
};

export interface PlayerRoutesOptions {
  /** Minify the page's script (default true; false keeps it readable while working on it). */
  minify?: boolean;
}

/**
 * The web player as Hono routes, to mount at `/`: the page at `/` and `/watch/{id}`, its script
 * (bundled from player/src with esbuild in memory, once, when the routes are made), its styles,
 * and hls.js under `/player/vendor/`. Everything else falls through to the app it is mounted in.
 */
export function createPlayerRoutes(options: PlayerRoutesOptions = {}): Hono {
  const app = new Hono();
  const bundle = bundlePlayer(options.minify ?? true);
  // Building starts now so the first visitor does not wait; a failure is reported to whoever asks.
  bundle.catch(() => {});

  // Middleware goes on each route, never on "*": mounted at "/", a "*" middleware would also wrap
  // the API's routes (and etag() would read whole segment and event streams to hash them).
  const withEtag = etag();

  const sendPage = async () => send(await readFile(join(HERE, "static", "index.html")), "text/html; charset=utf-8");
  app.get("/", withEtag, sendPage);
  app.get("/watch/:id", withEtag, sendPage);
  app.get("/player/app.js", withEtag, async () => send(await bundle, "text/javascript; charset=utf-8"));
  app.get("/player/app.css", withEtag, async () => send(await readFile(join(HERE, "static", "styles.css")), "text/css; charset=utf-8"));
  // The version is a path segment: hono's router mis-parses a pattern containing "@" (hls.js@1.7.4).
  app.get(`/player/vendor/hls.js/${HLS_VERSION}/:file`, withEtag, async (c) => {
    const type = HLS_FILES[c.req.param("file")];
    if (!type) return c.notFound();
    return send(await readFile(join(HLS_DIST, c.req.param("file"))), type, "public, max-age=31536000, immutable");
  });
  return app;
}

/** The page and its script change with the server: the browser revalidates them (ETag) on every load. */
function send(body: string | Uint8Array<ArrayBuffer>, type: string, cacheControl = "no-cache"): Response {
  return new Response(body, { headers: { "Content-Type": type, "Cache-Control": cacheControl, "X-Content-Type-Options": "nosniff" } });
}

async function bundlePlayer(minify: boolean): Promise<string> {
  const result = await build({
    entryPoints: [join(HERE, "src", "main.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    // Safari 15 (iOS 15) and the browsers of the same years: esbuild lowers newer syntax for them.
    target: ["es2020", "safari15", "chrome90", "firefox90"],
    minify,
    sourcemap: minify ? false : "inline",
    define: { __HLS_SCRIPT__: JSON.stringify(HLS_SCRIPT_PATH) },
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error("esbuild produced no player bundle");
  return output.text;
}
