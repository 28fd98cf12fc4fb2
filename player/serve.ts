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

  app.use("*", etag());
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });

  const page = async () => readFile(join(HERE, "static", "index.html"), "utf8");
  const sendPage = async () =>
    new Response(await page(), { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
  app.get("/", sendPage);
  app.get("/watch/:id", sendPage);

  app.get("/player/app.js", async () => {
    return new Response(await bundle, { headers: { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" } });
  });
  app.get("/player/app.css", async () => {
    const css = await readFile(join(HERE, "static", "styles.css"), "utf8");
    return new Response(css, { headers: { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "no-cache" } });
  });
  app.get(`/player/vendor/hls.js/${HLS_VERSION}/:file`, async (c) => {
    const file = c.req.param("file");
    const type = HLS_FILES[file];
    if (!type) return c.notFound();
    return new Response(await readFile(join(HLS_DIST, file)), {
      headers: { "Content-Type": type, "Cache-Control": "public, max-age=31536000, immutable" },
    });
  });
  return app;
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
