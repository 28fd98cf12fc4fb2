import { round } from "./measure.ts";

/**
 * A simple model of a job's wall time on W one-core workers, from measured components: probe and
 * split run once, then the chunk encodes (their cost proportional to the video seconds they hold)
 * and the audio and thumbnails parts are list-scheduled over the W workers in queue order, then
 * publish runs once. It ignores queue latency and the cost of moving files between machines.
 */

export interface Components {
  videoSeconds: number;
  chunkSeconds: number;
  /** Upload complete → job planned (probe and plan). */
  probeSeconds: number;
  /** Job planned → first chunk's encode started (split and fan-out). */
  splitSeconds: number;
  /** Each chunk's encode on one core (every rung), seconds. */
  chunkEncodeSeconds: number[];
  audioSeconds: number;
  thumbnailsSeconds: number;
  /** Last part finished → ready. */
  publishSeconds: number;
}

/** Finish time of tasks handed in order to the first free of `workers` slots. */
export function makespan(tasks: readonly number[], workers: number): number {
  const free = Array.from({ length: Math.max(1, workers) }, () => 0);
  for (const task of tasks) {
    let slot = 0;
    for (let i = 1; i < free.length; i += 1) if (free[i]! < free[slot]!) slot = i;
    free[slot]! += task;
  }
  return Math.max(...free);
}

/** Chunk encode times for a chunk length: the measured cost per video second times each chunk's length. */
export function chunkTasks(c: Components, chunkSeconds: number): number[] {
  const perVideoSecond = c.chunkEncodeSeconds.reduce((a, b) => a + b, 0) / c.videoSeconds;
  const tasks: number[] = [];
  for (let start = 0; start < c.videoSeconds - 1e-6; start += chunkSeconds) tasks.push(Math.min(chunkSeconds, c.videoSeconds - start) * perVideoSecond);
  return tasks;
}

export function predictSeconds(c: Components, workers: number, chunkSeconds = c.chunkSeconds): number {
  // The parts are queued as chunk 0, 1, …, then audio and thumbnails (split sends them in that order).
  const tasks = [...chunkTasks(c, chunkSeconds), c.audioSeconds, c.thumbnailsSeconds];
  return c.probeSeconds + c.splitSeconds + makespan(tasks, workers) + c.publishSeconds;
}

export interface ModelReport {
  components: Components;
  encodeCoreSecondsPerVideoSecond: number;
  predictions: Array<{ workers: number; chunkSeconds: number; seconds: number; note?: string }>;
  lambda: { chunkSeconds: number; functions: number; seconds: number; note: string };
  crossover: string;
  check16Core: Record<string, unknown>;
}

/**
 * Predictions for 1, 2, 8 and 32 workers at the measured chunk length (and at 4 s chunks, which
 * give 32 workers something to do), Lambda at its chunk length (one function per chunk, all at
 * once), where more workers stop helping, and the model checked against the 16-core figures the
 * issue quotes.
 */
export function modelReport(c: Components, lambdaChunkSeconds: number): ModelReport {
  const perVideoSecond = c.chunkEncodeSeconds.reduce((a, b) => a + b, 0) / c.videoSeconds;
  const predictions: ModelReport["predictions"] = [];
  for (const chunkSeconds of [...new Set([c.chunkSeconds, 4])]) {
    for (const workers of [1, 2, 8, 32]) predictions.push({ workers, chunkSeconds, seconds: round(predictSeconds(c, workers, chunkSeconds), 1) });
  }
  const lambdaChunks = chunkTasks(c, lambdaChunkSeconds).length;
  const lambda = {
    chunkSeconds: lambdaChunkSeconds,
    functions: lambdaChunks + 2,
    seconds: round(predictSeconds(c, lambdaChunks + 2, lambdaChunkSeconds), 1),
    note: "one invocation per chunk at once, each as fast as one core here; Lambda's vCPU speed and S3 transfers are not modelled",
  };
  const chunks = chunkTasks(c, c.chunkSeconds).length;
  const floor = round(c.probeSeconds + c.splitSeconds + Math.max(...chunkTasks(c, c.chunkSeconds), c.audioSeconds, c.thumbnailsSeconds) + c.publishSeconds, 1);
  const crossover =
    `At ${c.chunkSeconds} s chunks a ${c.videoSeconds} s video has ${chunks} chunks: workers beyond ${chunks + 2} (the chunks, the audio and the thumbnails) add nothing, ` +
    `and the job cannot go below ${floor} s (one chunk's encode plus the fixed stages). Shorter chunks move that floor down but each costs a little more ` +
    `(start-up, a keyframe per chunk); on one machine with C cores, chunking into C one-thread encodes only matches ffmpeg's own threads (the wall ratio here, ` +
    `and the 16-core check below), so its gains are across machines: the crossover is W > C, when the chunks run on more cores than any one machine has.`;
  // The 16-core machine: 15 chunks of 4 s on 16 slots took 17.4–17.6 s, one round of chunks,
  // so one 4 s chunk there costs ~17.5 core-seconds (4.4 per video second). The model then predicts
  // 2 s chunks (30 on 16 slots, two rounds) and compares with the single command there.
  const perVideoSecond16 = 17.5 / 4;
  const predicted2s = round(makespan(Array.from({ length: 30 }, () => 2 * perVideoSecond16), 16), 1);
  const predicted32Workers4s = round(makespan(Array.from({ length: 15 }, () => 4 * perVideoSecond16), 32), 1);
  return {
    components: c,
    encodeCoreSecondsPerVideoSecond: round(perVideoSecond, 2),
    predictions,
    lambda,
    crossover,
    check16Core: {
      quoted: { singleCommandSeconds: "17.7–20.6", chunks4sOn16Seconds: "17.4–17.6", chunks2sOn16Seconds: "15.7–17.3", perChunkAndRungTasksSeconds: "21–24" },
      calibratedFrom: "4 s chunks: 15 chunks on 16 one-thread slots is one round, so one chunk ≈ 17.5 s",
      predicted2sChunksOn16Seconds: predicted2s,
      predicted4sChunksOn32WorkersSeconds: predicted32Workers4s,
      reading:
        `The model predicts ${predicted2s} s for 2 s chunks on 16 slots (two rounds of half-size chunks), the upper end of the quoted 15.7–17.3 s: it ` +
        "does not credit shorter encodes' better cache use. Both are at or just under the single command's 17.7–20.6 s, as here on 2 cores: on one " +
        `machine chunking ties with ffmpeg's threads. Spread over 32 one-core workers, 4 s chunks would take ~${predicted32Workers4s} s plus the fixed stages, ` +
        "no better than 16: 15 chunks leave half the workers idle, the same floor as above.",
    },
  };
}
