import { measureBandwidth, type SizedSegment } from "./bandwidth.ts";
import type { VariantStream } from "./playlists.ts";

/**
 * A rendition's entry in the master playlist: its media playlist at `<name>/index.m3u8` and the
 * peak and average rates measured from its segments. Publish and progressive publish both
 * declare their variants with it, so the growing playlists and the final ones agree.
 */
export function variantStream(
  rendition: { name: string; width: number; height: number },
  segments: readonly SizedSegment[],
  codecs: string,
  frameRate: number,
): VariantStream {
  const bandwidth = measureBandwidth(segments);
  return {
    uri: `${rendition.name}/index.m3u8`,
    bandwidth: bandwidth.peak,
    averageBandwidth: bandwidth.average,
    codecs,
    resolution: { width: rendition.width, height: rendition.height },
    frameRate,
  };
}
