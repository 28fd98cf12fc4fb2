import type { Config } from "../config.ts";
import { planChunks, type ChunkPlan } from "./chunk-plan.ts";
import { planLadder, type Rendition } from "./ladder.ts";
import type { SourceInfo } from "./source-info.ts";

export interface EncodePlan {
  renditions: Rendition[];
  chunks: ChunkPlan;
}

/** The renditions and the chunk grid for one source: what ingest stores and the benchmark reuses. */
export function planEncode(
  source: SourceInfo,
  media: Pick<Config["media"], "ladder" | "segmentSeconds" | "chunkSeconds">,
  parallelism: number,
): EncodePlan {
  const { video } = source;
  // Without timestamps a stream can be neither sought nor cut at a time: one chunk reads it whole.
  const whole = !video.timestamped;
  return {
    renditions: planLadder({
      displayWidth: video.displayWidth,
      displayHeight: video.displayHeight,
      frameRate: video.frameRate,
      rungs: media.ladder,
    }),
    chunks: planChunks({
      durationSeconds: source.durationSeconds,
      frameRate: video.frameRate,
      segmentSeconds: media.segmentSeconds,
      chunkSeconds: whole ? Number.POSITIVE_INFINITY : media.chunkSeconds,
      parallelism: whole ? 1 : parallelism,
      keyframeTimes: video.keyframeTimes,
      videoStartTime: video.startTime,
    }),
  };
}
