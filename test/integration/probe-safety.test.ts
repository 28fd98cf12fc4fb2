import { describe, expect, it } from "vitest";
import { InvalidMediaError, PermanentError } from "../../shared/errors.ts";
import { resolveFfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import { listVideoPackets } from "../../shared/media/packet-listing.ts";
import { probeContainer } from "../../shared/media/probe.ts";
import { mediaFile, standIn } from "../support/media.ts";

const { ffprobe } = resolveFfmpegBinaries();

describe("ffprobe on uploads", () => {
  // The ingest service sniffs playlists before probing; this is the second wall behind it.
  it("refuses an uploaded HLS playlist through the demuxer allow-list, without opening its entries", async () => {
    const error = await probeContainer(ffprobe, mediaFile("broken_hls_playlist.mp4")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    // Debian's ffprobe 5.1 says "Format not on whitelist"; the bundled 2023 build will not even try hls.
    expect((error as Error).message).toMatch(/Format not on whitelist|Not detecting m3u8\/hls/);
    expect((error as Error).message).not.toMatch(/etc\/hostname|127\.0\.0\.1/);
  });

  it("still reads the containers vodpipe accepts", async () => {
    const files = [
      await standIn("mjpeg-422-mp2.mov"), mediaFile("androidx_sample.avi"), mediaFile("androidx_sample.flv"),
      mediaFile("bear-vp9-odd-dimensions.webm"), await standIn("dv-ntsc-one-frame.dv"),
    ];
    for (const file of files) {
      const probe = await probeContainer(ffprobe, file);
      expect(probe.streams?.length, file).toBeGreaterThan(0);
    }
  });

  it("lists packets as a stream and stops at the cap with a reason", async () => {
    // androidx_sample.avi: 96 video packets.
    const listing = await listVideoPackets(ffprobe, mediaFile("androidx_sample.avi"), { maxPackets: 96 });
    expect(listing.packets).toBe(96);
    expect(listing.timeline(0, 0)).toMatchObject({ frameCount: 96, timestamped: true });
    const error = await listVideoPackets(ffprobe, mediaFile("androidx_sample.avi"), { maxPackets: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidMediaError);
    expect((error as Error).message).toBe(
      "the file holds more than 50 video frames (packets), more than the longest accepted video can have",
    );
  });
});
