import type { Stage } from "../shared/messages.ts";
import type { MessageHandler } from "../shared/consumer/types.ts";
import { createSender, createSenders } from "../shared/pipeline/senders.ts";
import { createIngestHandler } from "../services/ingest/handler.ts";
import { createSplitHandler } from "../services/split/handler.ts";
import { createLeadHandler } from "../services/lead/handler.ts";
import { createTranscodeHandler } from "../services/transcode/handler.ts";
import { createAudioHandler } from "../services/audio/handler.ts";
import { createThumbnailsHandler } from "../services/thumbnails/handler.ts";
import { createPublishHandler } from "../services/publish/handler.ts";
import { createWebhookHandler } from "../services/webhook/handler.ts";
import type { PipelineDeps } from "./environment.ts";

/**
 * One exhaustive map from stage to its service's handler, each given only what it uses: the
 * store, senders for the queues it hands work to, the binaries, and its settings.
 */
export function createStageHandlers(deps: PipelineDeps): Record<Stage, MessageHandler> {
  const { store, queues, binaries, config, threads, soloThreads, now } = deps;
  const { tmpDir } = config.ffmpeg;
  const { transcodeConcurrency } = config.worker;
  const { deadlines } = config;
  // Only when a receiver asked for it: otherwise every finished part would queue a message nobody wants.
  const progressEvents = config.webhook?.events.includes("video.progress") ? createSender("webhook", queues.webhook) : undefined;
  return {
    ingest: createIngestHandler({
      store,
      send: createSenders(queues, "split"),
      binaries,
      media: config.media,
      limits: config.limits,
      deadlines,
      transcodeConcurrency,
      bucket: config.storage.kind === "s3" ? config.storage.bucket : undefined,
      tmpDir,
      now,
    }),
    split: createSplitHandler({
      store,
      send: createSenders(queues, "lead", "transcode", "audio", "thumbnails"),
      binaries,
      deadlines,
      transcodeConcurrency,
      tmpDir,
      now,
    }),
    lead: createLeadHandler({ store, send: createSenders(queues, "publish"), progressEvents, binaries, threads, deadlines, tmpDir, now }),
    transcode: createTranscodeHandler({
      store,
      send: createSenders(queues, "publish"),
      progressEvents,
      binaries,
      threads,
      soloThreads,
      transcodeConcurrency,
      deadlines,
      tmpDir,
      now,
    }),
    audio: createAudioHandler({ store, send: createSenders(queues, "publish"), progressEvents, binaries, threads, deadlines, tmpDir, now }),
    thumbnails: createThumbnailsHandler({ store, send: createSenders(queues, "publish"), progressEvents, binaries, threads, deadlines, tmpDir, now }),
    publish: createPublishHandler({ store, send: createSenders(queues, "webhook"), binaries, tmpDir, now }),
    webhook: createWebhookHandler({ store, webhook: config.webhook, now }),
  };
}
