import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sniffNonVideo } from "../../services/ingest/explain-probe-failure.ts";

describe("sniffNonVideo", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vodpipe-sniff-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function sniff(name: string, bytes: Buffer | string): Promise<string | undefined> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return sniffNonVideo(path);
  }

  it("recognises an HLS playlist uploaded as .mp4, with or without a BOM", async () => {
    const playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nhttp://127.0.0.1:9/segment0.ts\n#EXTINF:4.0,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n";
    const reason = "the file is an HLS playlist (M3U8 text), not a video; upload the media file itself";
    expect(await sniff("playlist.mp4", playlist)).toBe(reason);
    expect(await sniff("bom.mp4", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(playlist)]))).toBe(reason);
    expect(await sniff("spaced.mp4", `\r\n  ${playlist}`)).toBe(reason);
  });

  it("recognises a saved HTML error page and XML", async () => {
    const reason = "the file is an HTML/XML page, not a video (a download that saved an error page?)";
    expect(await sniff("page.mp4", "\n<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>\n")).toBe(reason);
    expect(await sniff("upper.mp4", "<HTML><BODY>Forbidden</BODY></HTML>")).toBe(reason);
    expect(await sniff("error.xml", '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>')).toBe(reason);
  });

  it("recognises still images", async () => {
    expect(await sniff("photo.mp4", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]))).toBe("the file is a JPEG still image, not a video");
    expect(await sniff("image.mp4", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]))).toBe("the file is a PNG still image, not a video");
    expect(await sniff("anim.mp4", "GIF89a\x01\x00\x01\x00")).toBe("the file is a GIF image; convert it to a video first");
  });

  it("lets real containers and unknown bytes through to ffprobe", async () => {
    const ftyp = Buffer.from([0x00, 0x00, 0x00, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0x00, 0x00, 0x02, 0x00]);
    expect(await sniff("video.mp4", ftyp)).toBeUndefined();
    expect(await sniff("video.ts", Buffer.from([0x47, 0x40, 0x00, 0x10, 0x00]))).toBeUndefined();
    expect(await sniff("video.mkv", Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBeUndefined();
    expect(await sniff("empty.mp4", Buffer.alloc(0))).toBeUndefined();
    // A PNG signature that is not complete is not a PNG.
    expect(await sniff("short.png", Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });
});
