import { open } from "node:fs/promises";

/** What the first bytes say the file is, when it is plainly not a video. */
export async function sniffNonVideo(path: string): Promise<string | undefined> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    const head = buffer.subarray(0, bytesRead);
    const text = head.toString("latin1").replace(/^\uFEFF|^\xEF\xBB\xBF/, "").trimStart();
    if (text.startsWith("#EXTM3U")) {
      return "the file is an HLS playlist (M3U8 text), not a video; upload the media file itself";
    }
    if (/^<(!doctype|html|\?xml|head|body)/i.test(text)) {
      return "the file is an HTML/XML page, not a video (a download that saved an error page?)";
    }
    if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "the file is a JPEG still image, not a video";
    if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      return "the file is a PNG still image, not a video";
    }
    if (text.startsWith("GIF8")) return "the file is a GIF image; convert it to a video first";
    return undefined;
  } finally {
    await handle.close();
  }
}
