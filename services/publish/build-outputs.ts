import { measureBandwidth } from "../../shared/hls/bandwidth.ts";
import { variantStream } from "../../shared/hls/variant-stream.ts";
import { writeIFramePlaylist, writeMasterPlaylist, writeMediaPlaylist, type VariantStream } from "../../shared/hls/playlists.ts";
import type { JobRecord } from "../../shared/job.ts";
import { plannedDurationSeconds } from "../../shared/media/chunk-plan.ts";
import { toNumber } from "../../shared/media/frame-rate.ts";
import type { ActiveJob } from "../../shared/pipeline/job-guard.ts";
import type { PartRecord, SegmentRecord } from "../../shared/pipeline/part-record.ts";
import { AUDIO_RENDITION } from "../../shared/media/ladder-table.ts";
import { partNames } from "../../shared/keys.ts";
import type { ThumbnailResult } from "../../shared/media/thumbnail-result.ts";
import { summarizeQuality } from "./quality-summary.ts";
import { contentTypeForKey } from "../../shared/storage/object-key.ts";
import type { Manifest } from "./manifest-schema.ts";

/** What the thumbnails part records: the render result and the folder its files went to. */
type ThumbnailDetails = ThumbnailResult & { folder: string };

export interface OutputFile {
  /** Relative to the video's output folder. */
  path: string;
  body: string;
  contentType: string;
}

function leadRungPart(parts: ReadonlyMap<string, PartRecord>, rendition: string): PartRecord {
  const part = parts.get(partNames.rung(rendition));
  if (!part) throw new Error(`missing part ${partNames.rung(rendition)}`);
  return part;
}

/** A file to write, typed by its name as the object store types every key. */
const outputFile = (path: string, body: string): OutputFile => ({ path, body, contentType: contentTypeForKey(path) });

/**
 * Everything publish writes, from the job and the part markers alone (no clock, no listing order),
 * so publishing twice produces the same bytes. master.m3u8 is last: it is written last.
 */
export function buildOutputs(job: ActiveJob, parts: ReadonlyMap<string, PartRecord>): OutputFile[] {
  const chunkParts = job.plan.chunks.chunks.map((chunk) => {
    const part = parts.get(partNames.chunk(chunk.index));
    if (!part) throw new Error(`missing part ${partNames.chunk(chunk.index)}`);
    return part;
  });
  const files: OutputFile[] = [];
  const variants: VariantStream[] = [];
  const renditionSummaries: Manifest["renditions"] = [];
  const quality = summarizeQuality(job, parts);

  for (const rendition of job.plan.renditions) {
    // The lead rung's one part holds the whole rendition; the chunks hold the others in order.
    const madeBy = rendition.name === job.plan.leadRung ? [leadRungPart(parts, rendition.name)] : chunkParts;
    const segments: SegmentRecord[] = madeBy.flatMap((part) => part.segments?.[rendition.name] ?? []);
    const codecs = madeBy[0]?.codecs?.[rendition.name];
    if (!codecs) throw new Error(`no codec string recorded for ${rendition.name}`);
    const media = writeMediaPlaylist({ segments });
    const iframes = writeIFramePlaylist({ segments });
    const iframeBandwidth = measureBandwidth(segments.map((s) => ({ duration: s.duration, bytes: s.iframe?.length ?? s.bytes })));
    files.push(
      outputFile(`${rendition.name}/index.m3u8`, media),
      outputFile(`${rendition.name}/iframes.m3u8`, iframes),
    );
    const variant: VariantStream = {
      ...variantStream(rendition, segments, codecs, toNumber(job.plan.chunks.frameRate)),
      iframes: { uri: `${rendition.name}/iframes.m3u8`, bandwidth: iframeBandwidth.peak, averageBandwidth: iframeBandwidth.average },
    };
    variants.push(variant);
    renditionSummaries.push({
      name: rendition.name,
      width: rendition.width,
      height: rendition.height,
      codecs,
      frameRate: variant.frameRate,
      bandwidth: variant.bandwidth,
      averageBandwidth: variant.averageBandwidth,
      playlist: variant.uri,
      iframePlaylist: variant.iframes!.uri,
      segments: segments.map((s) => `${rendition.name}/${s.uri}`),
      quality: quality.renditions[rendition.name] ?? null,
    });
  }

  const audioPart = job.plan.hasAudio ? parts.get(partNames.audio) : undefined;
  const audioSegments = audioPart?.segments?.audio;
  let audioSummary = null;
  if (job.plan.hasAudio) {
    if (!audioSegments?.length) throw new Error("missing audio segments");
    const bandwidth = measureBandwidth(audioSegments);
    files.push(outputFile("audio/index.m3u8", writeMediaPlaylist({ segments: audioSegments })));
    audioSummary = {
      codecs: "mp4a.40.2",
      channels: AUDIO_RENDITION.channels,
      sampleRate: AUDIO_RENDITION.sampleRate,
      bandwidth: bandwidth.peak,
      averageBandwidth: bandwidth.average,
      playlist: "audio/index.m3u8",
      segments: audioSegments.map((s) => `audio/${s.uri}`),
    };
  }

  const thumbnails = (parts.get(partNames.thumbnails)?.details ?? null) as ThumbnailDetails | null;
  const thumbnailFiles = thumbnails
    ? [...thumbnails.poster.files.map((f) => f.path), ...thumbnails.storyboard.sheets.map((f) => f.path), thumbnails.storyboard.vtt].map(
        (path) => `${thumbnails.folder}/${path}`,
      )
    : [];
  const master = writeMasterPlaylist({
    variants,
    ...(audioSummary
      ? {
          audio: {
            groupId: "audio",
            name: "Main",
            uri: audioSummary.playlist,
            channels: AUDIO_RENDITION.channels,
            default: true,
            bandwidth: { peak: audioSummary.bandwidth, average: audioSummary.averageBandwidth },
          },
        }
      : {}),
  });

  const manifest: Manifest = {
    id: job.videoId,
    status: "ready",
    durationSeconds: round(plannedDurationSeconds(job.plan.chunks)),
    master: "master.m3u8",
    source: describeSourceForManifest(job),
    renditions: renditionSummaries,
    audio: audioSummary,
    thumbnails,
    qualityWarnings: quality.warnings,
    files: [
      ...files.map((f) => f.path),
      "manifest.json",
      "master.m3u8",
      ...renditionSummaries.flatMap((r) => r.segments),
      ...(audioSummary?.segments ?? []),
      ...thumbnailFiles,
    ].sort(),
    timings: timings(job, parts),
  };
  files.push(outputFile("manifest.json", `${JSON.stringify(manifest, null, 2)}\n`));
  files.push(outputFile("master.m3u8", master));
  return files;
}

function describeSourceForManifest(job: JobRecord & Pick<ActiveJob, "source">) {
  const { source } = job;
  return {
    originalName: job.originalName ?? null,
    container: source.formatName,
    sizeBytes: source.sizeBytes,
    durationSeconds: round(source.durationSeconds),
    video: {
      codec: source.video.codec,
      width: source.video.displayWidth,
      height: source.video.displayHeight,
      rotation: source.video.rotation,
      frameRate: round(toNumber(source.video.frameRate)),
      hdr: source.video.hdr,
    },
    audio: source.audio ? { codec: source.audio.codec, channels: source.audio.channels, sampleRate: source.audio.sampleRate } : null,
  };
}

function timings(job: ActiveJob, parts: ReadonlyMap<string, PartRecord>) {
  const entries = [...parts.values()].sort((a, b) => a.part.localeCompare(b.part));
  const finished = entries.map((p) => p.finishedAt).sort();
  const lastFinished = finished[finished.length - 1] ?? job.updatedAt;
  return {
    createdAt: job.createdAt,
    partsFinishedAt: lastFinished,
    processingSeconds: round((Date.parse(lastFinished) - Date.parse(job.createdAt)) / 1000),
    parts: Object.fromEntries(
      entries.map((p) => [p.part, { startedAt: p.startedAt, finishedAt: p.finishedAt, seconds: round((Date.parse(p.finishedAt) - Date.parse(p.startedAt)) / 1000) }]),
    ),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
