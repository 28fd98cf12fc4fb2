import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import { parseMediaPlaylist } from "../../shared/hls/parse-playlist.ts";
import { partNames } from "../../shared/keys.ts";
import type { Logger } from "../../shared/logger.ts";
import { deadlineOptions } from "../../shared/media/deadlines.ts";
import { transcodeChunkArgs } from "../../shared/media/encode-args.ts";
import { parseX264Quality, type EncodeQuality } from "../../shared/media/encoder-quality.ts";
import { runProcess } from "../../shared/media/run-process.ts";
import { runPartOnce } from "../../shared/pipeline/fan-in.ts";
import { handleActiveJob, type ActiveJob } from "../../shared/pipeline/job-guard.ts";
import type { SegmentRecord } from "../../shared/pipeline/part-record.ts";
import { publishLeadSegments, publishProgressSafely, type LeadRungState } from "../../shared/pipeline/progressive-publish.ts";
import { uploadSegment, writtenSegments } from "../../shared/pipeline/segment-upload.ts";
import { assertSegmentsAsPlanned, expectedChunkSegments } from "../../shared/pipeline/verify-segments.ts";
import type { MessageHandler } from "../../shared/consumer/types.ts";
import { startProgressReporter } from "../../shared/progress/progress-records.ts";
import type { EncodingPartDeps } from "../../shared/pipeline/fan-in.ts";

/** lead reads the source and writes the lowest rung's segments, publishing them as they come; it fans in to publish. */
export type LeadDeps = EncodingPartDeps;

/** How often the running encode's playlist is read for new segments. */
const WATCH_INTERVAL_MS = 200;

/**
 * The lead rung (shared/media/lead-rung.ts): one ffmpeg reads the source and encodes the lowest
 * rendition for the whole video, on the segment grid and with the keyframes the chunks use. Each
 * segment is uploaded and published (EVENT playlist, master) as soon as ffmpeg lists it, so the
 * video is playable seconds after the upload, while the chunks make the other rungs.
 */
export function createLeadHandler(deps: LeadDeps): MessageHandler {
  return handleActiveJob(deps, "encode-rung", async ({ message, job, logger, context }) => {
    const rendition = job.plan.renditions.find((r) => r.name === message.rendition);
    if (!rendition || job.plan.leadRung !== message.rendition) {
      throw new PermanentError(`job ${job.videoId} has no lead rung ${message.rendition}`, { videoId: job.videoId });
    }
    const { chunks: plan } = job.plan;
    const part = partNames.rung(rendition.name);
    const expected = expectedChunkSegments({ keyframeOffsets: plan.segmentStarts, frameCount: plan.totalFrames }, plan.frameRate);

    await runPartOnce(deps, job, part, async (dir, location) => {
      const input = join(dir, "source");
      await deps.store.download(job.sourceKey, input, { readOnly: true });
      const outDir = join(dir, rendition.name);
      await mkdir(outDir);
      const playlistPath = join(outDir, "ffmpeg.m3u8");
      const publisher = segmentPublisher(deps, job, rendition.name, outDir, location, expected.durations ?? [], expected.toleranceSeconds, logger);
      const watch = setInterval(() => publisher.poll(playlistPath), WATCH_INTERVAL_MS);
      const progress = startProgressReporter(deps.store, job.videoId, part, { signal: context.signal, logger, now: deps.now });
      let stderr: string;
      try {
        ({ stderr } = await runProcess(
          deps.binaries.ffmpeg,
          transcodeChunkArgs({
            input,
            seekSeconds: job.source.video.startTime,
            frameCount: plan.totalFrames,
            startTime: 0,
            firstSegment: 0,
            keyframeOffsets: plan.segmentStarts,
            filters: { frameRate: plan.frameRate, toneMap: job.plan.toneMap, fullRange: job.source.video.fullRange, rotation: job.source.video.rotation },
            preset: job.plan.x264Preset,
            threads: deps.threads,
            outputs: [{ rendition, playlistPath, segmentPattern: join(outDir, "seg-%05d.ts") }],
            fromSource: { streamIndex: job.source.video.index },
            playlistType: "event",
          }),
          {
            logger,
            signal: progress.signal,
            task: "encoding the video",
            ...deadlineOptions(deps.deadlines, "transcode", job.source.durationSeconds),
            onProgress: (report) => progress.update(Number(report.frame) / plan.totalFrames),
          },
        ));
      } finally {
        clearInterval(watch);
        await progress.stop();
        await publisher.settled();
      }

      const listed = parseMediaPlaylist(await readFile(playlistPath, "utf8")).segments;
      assertSegmentsAsPlanned(rendition.name, await writtenSegments(outDir, listed), expected);
      const { segments, codec } = await publisher.finish(listed);
      if (!codec) throw new RetryableError(`the ${rendition.name} encode produced no segments`);
      const measured = parseX264Quality(stderr);
      const quality: Record<string, EncodeQuality> = {};
      if (measured.length === 1) quality[rendition.name] = { ...measured[0]!, frames: plan.totalFrames };
      else logger.warn({ encoders: measured.length }, "the encoder reported no quality for the lead rung");
      logger.info({ rendition: rendition.name, segments: segments.length, quality }, "lead rung encoded");
      return { segments: { [rendition.name]: segments }, codecs: { [rendition.name]: codec }, quality };
    }, () => publishProgressSafely(deps, job, logger));
  }, (message) => ({ rendition: message.rendition }));
}

interface SegmentPublisher {
  /** Uploads and publishes the segments ffmpeg listed since the last look; never overlaps itself. */
  poll(playlistPath: string): void;
  /** Resolves once the look in flight has ended. */
  settled(): Promise<void>;
  /** Uploads what is not uploaded yet and publishes the whole list. */
  finish(listed: ReadonlyArray<{ uri: string; duration: number }>): Promise<{ segments: SegmentRecord[]; codec?: string }>;
}

/**
 * Uploads segments in order as ffmpeg lists them (its EVENT playlist is renamed into place after
 * each segment is closed, so a listed segment is complete) and publishes each. A segment that does
 * not last what the plan says stops early publishing: the final check then fails the attempt. An
 * error while publishing early is logged and publishing stops; the segments are uploaded at the end.
 */
function segmentPublisher(
  deps: LeadDeps,
  job: ActiveJob,
  rendition: string,
  outDir: string,
  location: string,
  planned: readonly number[],
  tolerance: number,
  logger: Logger,
): SegmentPublisher {
  const uploaded: SegmentRecord[] = [];
  let codec: string | undefined;
  let publishing = true;
  let inFlight: Promise<void> = Promise.resolve();

  const uploadUpTo = async (listed: ReadonlyArray<{ uri: string; duration: number }>) => {
    for (const segment of listed.slice(uploaded.length)) {
      const result = await uploadSegment(deps, location, rendition, outDir, segment, true);
      uploaded.push(result.segment);
      codec ??= result.codec;
    }
  };
  const publish = async () => {
    if (!codec || !uploaded.length) return;
    const state: LeadRungState = { rendition, location, codecs: codec, segments: [...uploaded] };
    await publishLeadSegments(deps, job, state, logger);
  };

  const look = async (playlistPath: string) => {
    let listed;
    try {
      listed = parseMediaPlaylist(await readFile(playlistPath, "utf8")).segments;
    } catch {
      return; // not written yet
    }
    if (listed.length <= uploaded.length) return;
    const offPlan = listed.findIndex((segment, i) => Math.abs(segment.duration - (planned[i] ?? -1)) > tolerance);
    if (offPlan >= 0) {
      logger.warn({ segment: listed[offPlan]!.uri }, "a lead rung segment is not as planned; it is published with the rest, after the check");
      publishing = false;
      return;
    }
    await uploadUpTo(listed);
    await publish();
  };

  return {
    poll(playlistPath) {
      if (!publishing) return;
      inFlight = inFlight
        .then(() => (publishing ? look(playlistPath) : undefined))
        .catch((error: unknown) => {
          publishing = false;
          logger.warn({ err: error }, "could not publish the lead rung's segments early; they are published once the encode ends");
        });
    },
    settled: () => inFlight,
    async finish(listed) {
      await uploadUpTo(listed);
      try {
        await publish();
      } catch (error) {
        logger.warn({ err: error }, "could not publish the lead rung early; it is published once the video is ready");
      }
      return { segments: [...uploaded], codec };
    },
  };
}
