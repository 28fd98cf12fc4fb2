import { afterEach, describe, expect, it } from "vitest";
import { keys } from "../../shared/keys.ts";
import { parseMessage } from "../../shared/messages.ts";
import { listAll } from "../../shared/ports.ts";
import { listen, type RunningServer } from "../../services/api/server.ts";
import { createApiHarness, type ApiHarness } from "../support/api-harness.ts";

const KEY = "tus-test-key-0123456789";
let harness: ApiHarness | undefined;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  await harness?.close();
  server = undefined;
  harness = undefined;
});

async function start(env: Record<string, string> = {}): Promise<string> {
  harness = await createApiHarness(env);
  server = await listen(harness.app, { port: 0, hostname: "127.0.0.1" });
  return server.url;
}

const TUS = { "tus-resumable": "1.0.0" };
const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
const metadata = (name: string) => `filename ${Buffer.from(name).toString("base64")},filetype ${Buffer.from("video/mp4").toString("base64")}`;

async function create(base: string, length: number, headers: Record<string, string> = {}, path = "/v1/uploads"): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: { ...TUS, "upload-length": String(length), "upload-metadata": metadata("trip.mp4"), ...headers } });
}

function patch(url: string, offset: number, chunk: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "PATCH",
    headers: { ...TUS, "upload-offset": String(offset), "content-type": "application/offset+octet-stream", ...headers },
    body: new Uint8Array(chunk),
  });
}

describe("tus uploads over real HTTP", () => {
  it("creates the video as uploading, resumes from the offset HEAD reports, and queues it when complete", async () => {
    const base = await start();
    const created = await create(base, BODY.length, {}, "/v1/uploads/");
    expect(created.status).toBe(201);
    const location = created.headers.get("location")!;
    const id = location.split("/").pop()!;
    expect(location).toBe(`/v1/uploads/${id}`);
    const uploadUrl = new URL(location, base).href;

    const early = await (await fetch(`${base}/v1/videos/${id}`)).json();
    expect(early).toMatchObject({ id, status: "uploading", filename: "trip.mp4", size: BODY.length, progress: 0 });

    const first = await patch(uploadUrl, 0, BODY.subarray(0, 100_000));
    expect(first.status).toBe(204);
    expect(first.headers.get("upload-offset")).toBe("100000");

    // The connection dropped here; the client asks where to go on.
    const head = await fetch(uploadUrl, { method: "HEAD", headers: TUS });
    expect(head.headers.get("upload-offset")).toBe("100000");
    expect((await patch(uploadUrl, 50_000, BODY.subarray(50_000))).status).toBe(409);
    expect(await harness!.deps.store.head(keys.source(id, ".mp4"))).toBeUndefined();

    const rest = await patch(uploadUrl, 100_000, BODY.subarray(100_000));
    expect(rest.status).toBe(204);
    expect(rest.headers.get("upload-offset")).toBe(String(BODY.length));

    expect((await harness!.deps.store.getBuffer(keys.source(id, ".mp4"))).equals(BODY)).toBe(true);
    const video = await (await fetch(`${base}/v1/videos/${id}`)).json();
    expect(video).toMatchObject({ status: "queued", size: BODY.length });
    const [message] = await harness!.queueSet.queues.ingest.receive({ waitSeconds: 0 });
    expect(parseMessage(message!.body)).toMatchObject({ type: "source-uploaded", videoId: id, sourceKey: keys.source(id, ".mp4"), originalName: "trip.mp4" });
  });

  it("refuses an upload longer than VODPIPE_MAX_FILE_BYTES with 413 and creates no video", async () => {
    const base = await start({ VODPIPE_MAX_FILE_BYTES: "1000" });
    const created = await create(base, 1001);
    expect(created.status).toBe(413);
    expect((await (await fetch(`${base}/v1/videos`)).json()).data).toEqual([]);
  });

  it("needs the API key when one is set", async () => {
    const base = await start({ VODPIPE_API_KEY: KEY });
    const refused = await create(base, 10);
    expect(refused.status).toBe(401);
    const accepted = await create(base, 10, { authorization: `Bearer ${KEY}` });
    expect(accepted.status).toBe(201);
    const url = new URL(accepted.headers.get("location")!, base).href;
    expect((await patch(url, 0, Buffer.alloc(10))).status).toBe(401);
    expect((await patch(url, 0, Buffer.alloc(10), { authorization: `Bearer ${KEY}` })).status).toBe(204);
  });

  it("stops an upload in progress when its video is deleted", async () => {
    const base = await start();
    const created = await create(base, BODY.length);
    const url = new URL(created.headers.get("location")!, base).href;
    const id = url.split("/").pop()!;
    await patch(url, 0, BODY.subarray(0, 1000));
    expect((await fetch(`${base}/v1/videos/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(url, { method: "HEAD", headers: TUS })).status).toBe(404);
    expect([404, 410]).toContain((await patch(url, 1000, BODY.subarray(1000))).status);
    expect(await listAll(harness!.deps.store, keys.sourcePrefix(id))).toEqual([]);
    expect((await fetch(`${base}/v1/videos/${id}`)).status).toBe(404);
  });
});
