import { describe, expect, it } from "vitest";
import { flagQualityDrops, parseX264Quality, weightedQuality } from "../../shared/media/encoder-quality.ts";

// The tail of a two-output ffmpeg 5.1 run with -ssim 1 -flags +psnr, as libx264 prints it on close.
const STDERR = `[hls @ 0x5610] Opening 'b0.ts' for writing
video:418kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown
[libx264 @ 0x56107b298300] frame I:1     Avg QP:15.48  size:  2814  PSNR Mean Y:43.49 U:42.51 V:41.17 Avg:42.85 Global:42.85
[libx264 @ 0x56107b298300] frame P:47    Avg QP:22.19  size:  1016  PSNR Mean Y:41.42 U:39.29 V:39.03 Avg:40.53 Global:40.49
[libx264 @ 0x56107b298300] frame B:72    Avg QP:31.33  size:   380  PSNR Mean Y:41.00 U:38.41 V:37.64 Avg:39.75 Global:39.72
[libx264 @ 0x56107b298300] Weighted P-Frames: Y:0.0% UV:0.0%
[libx264 @ 0x56107b298300] SSIM Mean Y:0.9893740 (19.736db)
[libx264 @ 0x56107b298300] PSNR Mean Y:41.185 U:38.791 V:38.213 Avg:40.078 Global:40.026 kb/s:155.82
[libx264 @ 0x56107b2a3580] frame I:1     Avg QP:13.14  size:  7528  PSNR Mean Y:45.63 U:44.25 V:44.21 Avg:45.11 Global:45.11
[libx264 @ 0x56107b2a3580] frame P:119   Avg QP:19.42  size:  4081  PSNR Mean Y:43.50 U:41.38 V:41.57 Avg:42.72 Global:42.68
[libx264 @ 0x56107b2a3580] SSIM Mean Y:0.9908385 (20.380db)
[libx264 @ 0x56107b2a3580] PSNR Mean Y:42.621 U:40.896 V:40.976 Avg:41.978 Global:41.910 kb/s:697.62
`;

describe("parseX264Quality", () => {
  it("reads each encoder's luma PSNR and SSIM means and frame count, in the order they closed", () => {
    expect(parseX264Quality(STDERR)).toEqual([
      { psnr: 41.185, ssim: 0.989374, frames: 120 },
      { psnr: 42.621, ssim: 0.9908385, frames: 120 },
    ]);
  });

  it("finds nothing in a run without the summaries (ffmpeg at -v error)", () => {
    expect(parseX264Quality("[hls @ 0x1] Opening 'a.ts' for writing\n")).toEqual([]);
  });
});

describe("weightedQuality", () => {
  it("weights each chunk's means by its frames", () => {
    expect(weightedQuality([{ psnr: 40, ssim: 0.98, frames: 300 }, { psnr: 44, ssim: 0.99, frames: 100 }])).toEqual({ psnr: 41, ssim: 0.9825, frames: 400 });
    expect(weightedQuality([])).toBeUndefined();
  });
});

describe("flagQualityDrops", () => {
  const chunks = (psnrs: number[]) => psnrs.map((psnr, index) => ({ index, quality: { psnr, ssim: 0.98, frames: 300 } }));

  it("flags a chunk more than 4 dB below both neighbours", () => {
    const warnings = flagQualityDrops("720p", chunks([41, 40.5, 35, 41.2, 40]));
    expect(warnings.map((w) => [w.rendition, w.chunk, w.psnr, w.neighbourPsnr])).toEqual([["720p", 2, 35, 40.5]]);
    expect(warnings[0]!.message).toBe("chunk 2 of 720p measured 35.0 dB PSNR, more than 4 dB below its neighbours (40.5, 41.2 dB)");
  });

  it("does not flag a drop against one neighbour only (a change of scene), nor a small dip", () => {
    expect(flagQualityDrops("720p", chunks([45, 38, 37.5, 37]))).toEqual([]);
    expect(flagQualityDrops("720p", chunks([41, 37.5, 41]))).toEqual([]);
  });

  it("compares the first and last chunk with their one neighbour", () => {
    expect(flagQualityDrops("360p", chunks([30, 40, 41])).map((w) => w.chunk)).toEqual([0]);
    expect(flagQualityDrops("360p", chunks([40, 41, 30])).map((w) => w.chunk)).toEqual([2]);
  });

  it("has nothing to compare a single chunk with", () => {
    expect(flagQualityDrops("360p", chunks([20]))).toEqual([]);
  });
});
