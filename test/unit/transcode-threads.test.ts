import { describe, expect, it } from "vitest";
import { planChunks } from "../../shared/media/chunk-plan.ts";
import { loadConfig } from "../../shared/config.ts";
import { threadsForChunk } from "../../services/transcode/handler.ts";

// A 2-core machine at the defaults: two transcode slots, one thread each, both for a job alone.
const config = loadConfig({});
const deps = { threads: 1, soloThreads: 2, transcodeConcurrency: config.worker.transcodeConcurrency };

function chunkCount(durationSeconds: number): number {
  return planChunks({
    durationSeconds,
    frameRate: { num: 30, den: 1 },
    segmentSeconds: config.media.segmentSeconds,
    chunkSeconds: config.media.chunkSeconds,
    parallelism: config.worker.transcodeConcurrency,
    keyframeTimes: [0, 2, 4, 6, 8, 10],
    videoStartTime: 0,
  }).chunks.length;
}

describe("threads per transcode", () => {
  it("gives each of a short video's two chunks one thread, as for a long video", () => {
    expect(config.worker.transcodeConcurrency).toBe(2);
    for (const seconds of [6, 12, 60]) {
      const chunks = chunkCount(seconds);
      expect(chunks % 2, `${seconds} s`).toBe(0);
      expect(threadsForChunk(chunks, deps), `${seconds} s`).toBe(1);
    }
  });

  it("gives a video too short for a segment per slot one chunk with every core", () => {
    expect(chunkCount(5)).toBe(1);
    expect(threadsForChunk(1, deps)).toBe(2);
  });
});
