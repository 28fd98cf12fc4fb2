import type { Queue } from "../ports.ts";
import {
  STAGE_OF,
  serialize,
  type EncodeAudioMessage,
  type EncodeRungMessage,
  type MakeThumbnailsMessage,
  type PublishVideoMessage,
  type SourceUploadedMessage,
  type SplitSourceMessage,
  type Stage,
  type TranscodeChunkMessage,
  type VideoEventMessage,
} from "../messages.ts";

/** The one message type each stage's queue carries. */
export interface StageMessages {
  ingest: SourceUploadedMessage;
  split: SplitSourceMessage;
  lead: EncodeRungMessage;
  transcode: TranscodeChunkMessage;
  audio: EncodeAudioMessage;
  thumbnails: MakeThumbnailsMessage;
  publish: PublishVideoMessage;
  webhook: VideoEventMessage;
}

/** Hands one message to a stage's queue. */
export type Send<S extends Stage> = (message: StageMessages[S]) => Promise<void>;

/** Senders for exactly the stages a handler hands work to: its signature shows its reach. */
export type Senders<S extends Stage> = { readonly [K in S]: Send<K> };

export function createSender<S extends Stage>(stage: S, queue: Queue): Send<S> {
  return async (message) => {
    // The types already forbid it; this guards callers that build messages from untyped data.
    if (STAGE_OF[message.type] !== stage) throw new Error(`a ${message.type} message does not belong on the ${stage} queue`);
    await queue.send(serialize(message));
  };
}

/** Senders for the given stages, each bound to that stage's queue. */
export function createSenders<S extends Stage>(queues: Readonly<Record<Stage, Queue>>, ...stages: S[]): Senders<S> {
  return Object.fromEntries(stages.map((stage) => [stage, createSender(stage, queues[stage])])) as unknown as Senders<S>;
}
