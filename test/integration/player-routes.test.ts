import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createPlayerRoutes, HLS_SCRIPT_PATH } from "../../player/serve.ts";

const require = createRequire(import.meta.url);

describe("player routes", () => {
  const app = createPlayerRoutes();

  it("serves the page at / and at every watch address", async () => {
    for (const path of ["/", "/watch/abc123"]) {
      const response = await app.request(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const html = await response.text();
      expect(html).toContain('<script type="module" src="/player/app.js"></script>');
      expect(html).toContain('<main id="app"');
    }
  });

  it("serves the page's script bundled from player/src, with tus-js-client inside and hls.js's address", async () => {
    const response = await app.request("/player/app.js");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const etag = response.headers.get("etag");
    expect(etag).toBeTruthy();
    const script = await response.text();
    expect(script).toContain(HLS_SCRIPT_PATH);
    expect(script).toContain("Upload-Offset");
    expect(script).not.toContain("__HLS_SCRIPT__");
    const again = await app.request("/player/app.js", { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
  });

  it("serves hls.js from its npm package under a versioned path, cached for good", async () => {
    const { version } = require("hls.js/package.json") as { version: string };
    expect(HLS_SCRIPT_PATH).toBe(`/player/vendor/hls.js/${version}/hls.min.js`);
    const response = await app.request(HLS_SCRIPT_PATH);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const served = Buffer.from(await response.arrayBuffer());
    expect(served.equals(await readFile(require.resolve("hls.js/dist/hls.min.js")))).toBe(true);
  });

  it("serves nothing else from the package and leaves other paths to the app it is mounted in", async () => {
    const { version } = require("hls.js/package.json") as { version: string };
    expect((await app.request(`/player/vendor/hls.js/${version}/package.json`)).status).toBe(404);
    expect((await app.request(`/player/vendor/hls.js/${version}/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await app.request("/player/vendor/hls.js/0.0.1/hls.min.js")).status).toBe(404);
    expect((await app.request("/v1/videos")).status).toBe(404);
    expect((await app.request("/watch/a/b")).status).toBe(404);
  });

  it("mounted at / in an app, leaves that app's own routes alone", async () => {
    const parent = new Hono();
    parent.route("/", app);
    parent.get("/v1/videos/x/events", (c) => c.body("event: video\ndata: {}\n\n", 200, { "Content-Type": "text/event-stream" }));
    const events = await parent.request("/v1/videos/x/events");
    expect(events.headers.get("etag")).toBeNull();
    expect(events.headers.get("x-content-type-options")).toBeNull();
    expect((await parent.request("/")).status).toBe(200);
  });

  it("serves the styles", async () => {
    const response = await app.request("/player/app.css");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await response.text()).toContain(".player");
  });
});
