import { extname, join } from "node:path";
import { InvalidMediaError, PermanentError, publicReason } from "../../shared/errors.ts";
import { markFailed, readJob, writeJob, type JobPlan, type JobRecord, type StoredSource } from "../../shared/job.ts";
import { chooseLeadRung } from "../../shared/media/lead-rung.ts";
import { partNames, videoIdOfSourceKey } from "../../shared/keys.ts";
import { decodeS3Key, parseIngestBody, type S3EventNotification, type SourceUploadedMessage } from "../../shared/messages.ts";
import { planEncode } from "../../shared/media/encode-plan.ts";
import { listVideoPackets } from "../../shared/media/packet-listing.ts";
import { probeContainer, remuxForProbeArgs } from "../../shared/media/probe.ts";
import { ProcessCrashedError, ProcessTimeoutError, runProcess } from "../../shared/media/run-process.ts";
import { deadlineOptions, processDeadlineSeconds } from "../../shared/media/deadlines.ts";
import { assertFileSize, assertUsableContainer, describeSource, type SourceInfo } from "../../shared/media/source-info.ts";
import type { Config } from "../../shared/config.ts";
import type { FfmpegBinaries } from "../../shared/media/ffmpeg-binaries.ts";
import type { ObjectStore } from "../../shared/ports.ts";
import { isoNow, type Clock } from "../../shared/pipeline/clock.ts";
import type { Senders } from "../../shared/pipeline/senders.ts";
import { withTempDir, type TempDirSettings } from "../../shared/pipeline/temp-dir.ts";
import type { HandlerContext, MessageHandler } from "../../shared/consumer/types.ts";
import { sniffNonVideo } from "./explain-probe-failure.ts";

/** ingest reads the upload, writes the job record and hands over to split. */
export interface IngestDeps extends TempDirSettings {
  store: ObjectStore;
  send: Senders<"split">;
  binaries: FfmpegBinaries;
  /** The ladder, segment and chunk lengths, preset. */
  media: Config["media"];
  /** What an upload may be (size, duration, dimensions, streams). */
  limits: Config["limits"];
  /** Child-process deadlines. */
  deadlines: Config["deadlines"];
  /** How many transcodes run side by side: the chunk plan spreads a video over them. */
  transcodeConcurrency: number;
  /** With S3 storage, the bucket S3 event notifications must name. */
  bucket?: string;
  now?: Clock;
}

/**
 * ingest: probe the upload, reject what is not a usable video with a reason, plan the ladder and
 * the chunks, write the job record, and hand over to split.
 */
export function createIngestHandler(deps: IngestDeps): MessageHandler {
  return async (received, context) => {
    const input = parseIngestBody(received.body);
    if (input.kind === "s3-test-event") {
      context.logger.info("S3 test event; nothing to do");
      return;
    }
    const uploads = input.kind === "message" ? [input.message] : uploadsOfEvent(deps, input.event, context);
    for (const upload of uploads) await ingestOne(deps, upload, context);
  };
}

/**
 * The uploads an S3 notification announces. Every key is decoded first (a malformed one makes the
 * whole event invalid); only `sources/<id>/source.<ext>` is an upload. Any other key is logged
 * and skipped: vodpipe's own writes under `videos/` then never start a job, even when the
 * notification covers the whole bucket.
 */
function uploadsOfEvent(deps: IngestDeps, event: S3EventNotification, context: HandlerContext): SourceUploadedMessage[] {
  const uploads: SourceUploadedMessage[] = [];
  for (const record of event.Records) {
    const key = decodeS3Key(record.s3.object.key);
    if (!record.eventName.startsWith("ObjectCreated")) {
      context.logger.info({ key, eventName: record.eventName }, "S3 event is not an upload; ignored");
      continue;
    }
    if (deps.bucket && record.s3.bucket.name !== deps.bucket) {
      throw new PermanentError(`S3 event for bucket ${record.s3.bucket.name}, but vodpipe reads ${deps.bucket}`);
    }
    const videoId = videoIdOfSourceKey(key);
    if (!videoId) {
      context.logger.info({ key }, "S3 event for an object that is not an upload (only sources/<id>/source.<ext> is); ignored");
      continue;
    }
    uploads.push({ type: "source-uploaded", version: 1, videoId, sourceKey: key });
  }
  return uploads;
}

async function ingestOne(deps: IngestDeps, upload: SourceUploadedMessage, context: HandlerContext): Promise<void> {
  const { videoId, sourceKey } = upload;
  const logger = context.logger.child({ videoId });
  const existing = await readJob(deps.store, videoId);
  if (existing && existing.sourceKey !== sourceKey) {
    // A second object under the same prefix: the job belongs to the first one.
    logger.warn({ sourceKey, jobSourceKey: existing.sourceKey, status: existing.status }, "another upload already owns this video; ignored");
    return;
  }
  if (existing && existing.status !== "processing") {
    logger.info({ status: existing.status }, "already finished; nothing to do");
    return;
  }
  if (existing?.plan) {
    // Ingested before but the hand-over may have been lost: split is idempotent, send it again.
    await deps.send.split({ type: "split-source", version: 1, videoId });
    return;
  }

  try {
    const { source, plan } = await withTempDir(deps, "ingest", (dir) => analyse(deps, upload, dir, context));
    const timestamp = isoNow(deps.now);
    const job: JobRecord = {
      videoId,
      status: "processing",
      sourceKey,
      ...(upload.originalName ? { originalName: upload.originalName } : {}),
      createdAt: existing?.createdAt ?? timestamp,
      updatedAt: timestamp,
      source: storedSource(source),
      plan,
    };
    // Two objects under one prefix analysed at once: the first job record written wins.
    if (await ownedByAnotherUpload(deps, upload, logger)) return;
    await writeJob(deps.store, job);
    logger.info(
      { renditions: plan.renditions.map((r) => r.name), chunks: plan.chunks.chunks.length, duration: source.durationSeconds },
      "ingested",
    );
    await deps.send.split({ type: "split-source", version: 1, videoId });
  } catch (error) {
    if (error instanceof PermanentError) {
      if (await ownedByAnotherUpload(deps, upload, logger)) return;
      const reason = publicReason(error);
      await markFailed(deps.store, videoId, reason, upload, deps.now);
      logger.warn({ reason, err: error }, "rejected");
    }
    throw error;
  }
}

async function ownedByAnotherUpload(deps: IngestDeps, upload: SourceUploadedMessage, logger: HandlerContext["logger"]): Promise<boolean> {
  const job = await readJob(deps.store, upload.videoId);
  if (!job || job.sourceKey === upload.sourceKey) return false;
  logger.warn({ sourceKey: upload.sourceKey, jobSourceKey: job.sourceKey }, "another upload took this video meanwhile; ignored");
  return true;
}

async function analyse(
  deps: IngestDeps,
  upload: SourceUploadedMessage,
  dir: string,
  context: HandlerContext,
): Promise<{ source: SourceInfo; plan: JobPlan }> {
  const { binaries, limits, media, deadlines } = deps;
  const info = await deps.store.head(upload.sourceKey);
  if (!info) throw new InvalidMediaError(`the upload ${upload.sourceKey} does not exist (deleted before processing?)`, { videoId: upload.videoId });
  if (info.size === 0) throw new InvalidMediaError("the upload is empty (0 bytes)", { videoId: upload.videoId });
  assertFileSize(info.size, limits);

  const path = join(dir, `source${safeExtension(upload.sourceKey)}`);
  await deps.store.download(upload.sourceKey, path, { readOnly: true });
  const notVideo = await sniffNonVideo(path);
  if (notVideo) throw new InvalidMediaError(notVideo, { videoId: upload.videoId });

  const probeOptions = { logger: context.logger, signal: context.signal };
  // Before the container probe, the media's length is unknown: the longest allowed stands in.
  const unknownLength = deadlineOptions(deadlines, "scan", limits.maxDurationSeconds);
  // The packet listing (a read of the whole file) runs beside the container probe; it is only
  // parsed once that probe has accepted the file and chosen the video stream.
  const stopPacketRead = new AbortController();
  const listingStartedAt = Date.now();
  const packetListing = listVideoPackets(binaries.ffprobe, path, {
    ...probeOptions,
    ...unknownLength,
    maxPackets: limits.maxVideoPackets,
    signal: AbortSignal.any([context.signal, stopPacketRead.signal]),
  });
  packetListing.catch(() => {}); // its failure counts only if it is awaited below
  let listingDeadline: NodeJS.Timeout | undefined;
  let source: SourceInfo;
  try {
    let probePath = path;
    let raw;
    try {
      raw = await probeContainer(binaries.ffprobe, path, { ...probeOptions, ...deadlineOptions(deadlines, "probe", 0) });
      // Now the length is known, the listing gets the deadline that length deserves.
      const seconds = processDeadlineSeconds(deadlines, "scan", claimedLength(raw, limits.maxDurationSeconds));
      listingDeadline = setTimeout(
        () => stopPacketRead.abort(new ProcessTimeoutError(`the packet listing ran longer than its ${seconds} s deadline and was stopped`)),
        Math.max(0, listingStartedAt + seconds * 1000 - Date.now()),
      );
    } catch (error) {
      if (error instanceof PermanentError) throw new InvalidMediaError(publicReason(error), { videoId: upload.videoId, cause: error });
      if (!(error instanceof ProcessCrashedError)) throw error;
      // A crash is not proof the file is bad: the npm-bundled ffprobe crashes on MPEG-TS, and any
      // build can have such a bug. A stream copy into Matroska keeps stream indices and
      // timestamps, so it can be probed in the source's place; if that crashes too, the retries
      // (bounded by the receive count) end the job failed with the reason.
      context.logger.warn({ ffprobe: binaries.source.ffprobe }, "ffprobe crashed; probing a Matroska copy of the upload instead");
      probePath = join(dir, "probe-copy.mkv");
      await runProcess(binaries.ffmpeg, remuxForProbeArgs(path, probePath), { ...probeOptions, ...unknownLength, task: "copying the file for a second probe" });
      raw = await probeContainer(binaries.ffprobe, probePath, { ...probeOptions, ...deadlineOptions(deadlines, "probe", 0) });
    }
    const videoStream = assertUsableContainer(raw, info.size, limits);
    const formatStart = Number(raw.format?.start_time);
    const listing =
      probePath === path
        ? await packetListing
        : await listVideoPackets(binaries.ffprobe, probePath, {
            ...probeOptions,
            ...deadlineOptions(deadlines, "scan", claimedLength(raw, limits.maxDurationSeconds)),
            maxPackets: limits.maxVideoPackets,
          });
    const packets = listing.timeline(videoStream.index, Number.isFinite(formatStart) ? formatStart : 0);
    source = describeSource(raw, videoStream, packets, info.size, { ...limits, maxFrameRate: media.maxFrameRate });
  } finally {
    // A rejected or crashed probe: the listing is not needed, and must not outlive the handler.
    clearTimeout(listingDeadline);
    stopPacketRead.abort();
    await packetListing.catch(() => {});
  }

  const { renditions, chunks } = planEncode(source, media, deps.transcodeConcurrency);
  const leadRung = chooseLeadRung({ source, renditions, chunks, maxSeconds: media.leadRungMaxSeconds });
  const parts = [
    ...(leadRung ? [partNames.rung(leadRung)] : []),
    ...chunks.chunks.map((chunk) => partNames.chunk(chunk.index)),
    ...(source.audio ? [partNames.audio] : []),
    partNames.thumbnails,
  ];
  return {
    source,
    plan: {
      segmentSeconds: media.segmentSeconds,
      x264Preset: media.x264Preset,
      renditions,
      chunks,
      toneMap: source.video.hdr,
      hasAudio: source.audio !== null,
      leadRung,
      parts,
    },
  };
}

/** The container's stated length, or the longest allowed when it states none. */
function claimedLength(raw: { format?: { duration?: string } }, longest: number): number {
  const seconds = Number(raw.format?.duration);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, longest) : longest;
}

function storedSource(source: SourceInfo): StoredSource {
  const { keyframeTimes: _keyframes, ...video } = source.video;
  return { ...source, video };
}

/** A short, safe extension for the temp copy (helps nothing but humans reading temp dirs). */
function safeExtension(key: string): string {
  const extension = extname(key).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(extension) ? extension : "";
}

