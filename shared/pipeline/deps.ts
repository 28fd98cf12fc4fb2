import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { ObjectStore, Queue } from "../ports.ts";
import type { FfmpegBinaries } from "../media/ffmpeg-binaries.ts";
import { STAGE_OF, serialize, type PipelineMessage, type Stage } from "../messages.ts";

/** Everything a service handler needs, built once by an entry file and passed in. */
export interface PipelineDeps {
  store: ObjectStore;
  queues: Readonly<Record<Stage, Queue>>;
  binaries: FfmpegBinaries;
  config: Readonly<Config>;
  logger: Logger;
  /** ffmpeg threads per process while transcodes run side by side. */
  threads: number;
  /** ffmpeg threads for a transcode that has the machine to itself (a job with a single chunk). */
  soloThreads: number;
  now?: () => Date;
}

export function tempRoot(deps: PipelineDeps): string {
  return deps.config.ffmpeg.tmpDir ?? tmpdir();
}

/** Runs `work` in a fresh temp folder that is removed afterwards, whatever happens. */
export async function withTempDir<T>(deps: PipelineDeps, label: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tempRoot(deps), `vodpipe-${label}-`));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends each message to its stage's queue, batching per queue. */
export async function enqueue(deps: PipelineDeps, messages: readonly PipelineMessage[]): Promise<void> {
  const byStage = new Map<Stage, string[]>();
  for (const message of messages) {
    const stage = STAGE_OF[message.type];
    byStage.set(stage, [...(byStage.get(stage) ?? []), serialize(message)]);
  }
  await Promise.all([...byStage].map(([stage, bodies]) => deps.queues[stage].sendBatch(bodies)));
}

export function nowIso(deps: PipelineDeps): string {
  return (deps.now ?? (() => new Date()))().toISOString();
}
