import type { Stage } from "../shared/messages.ts";
import type { MessageHandler } from "../shared/consumer/types.ts";
import type { PipelineDeps } from "../shared/pipeline/deps.ts";
import { createIngestHandler } from "../services/ingest/handler.ts";
import { createSplitHandler } from "../services/split/handler.ts";
import { createTranscodeHandler } from "../services/transcode/handler.ts";
import { createAudioHandler } from "../services/audio/handler.ts";
import { createThumbnailsHandler } from "../services/thumbnails/handler.ts";
import { createPublishHandler } from "../services/publish/handler.ts";

/** One exhaustive map from stage to its service's handler. */
export function createStageHandlers(deps: PipelineDeps): Record<Stage, MessageHandler> {
  return {
    ingest: createIngestHandler(deps),
    split: createSplitHandler(deps),
    transcode: createTranscodeHandler(deps),
    audio: createAudioHandler(deps),
    thumbnails: createThumbnailsHandler(deps),
    publish: createPublishHandler(deps),
  };
}
