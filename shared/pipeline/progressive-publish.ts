import { variantStream } from "../hls/variant-stream.ts";
import { measureBandwidth, targetDurationFor } from "../hls/bandwidth.ts";
import { parseMediaPlaylist } from "../hls/parse-playlist.ts";
import { writeMasterPlaylist, writeMediaPlaylist, type VariantStream } from "../hls/playlists.ts";
import { readJob, readJsonObject, readJsonObjectIfExists, writeJob } from "../job.ts";
import { keys, partNames } from "../keys.ts";
import type { Logger } from "../logger.ts";
import { AUDIO_RENDITION } from "../media/ladder-table.ts";
import { toNumber } from "../media/frame-rate.ts";
import { NotFoundError } from "../errors.ts";
import { listAll, type ObjectStore } from "../ports.ts";
import { contentTypeForKey } from "../storage/object-key.ts";
import { isoNow, type Clock } from "./clock.ts";
import type { ActiveJob } from "./job-guard.ts";
import type { PartRecord, SegmentRecord } from "./part-record.ts";

export interface ProgressiveDeps {
  store: ObjectStore;
  now?: Clock;
}

/** How often one call re-reads the markers after writing, when other parts finished meanwhile. */
const MAX_ROUNDS = 4;

/**
 * Progressive publish: once the first chunk (and the audio, when there is some) is done, the
 * video is playable. Each rendition's media playlist is published as an EVENT playlist (no end
 * list) holding the segments of the chunks finished so far from the start, without a gap; each
 * later finished chunk makes it grow. The master names every rung (each chunk makes all of them).
 * publish later replaces each playlist with the VOD one: the same segments, plus the end list.
 *
 * Several parts can finish at once, and there is no lock: a writer writes only when it has more
 * segments than the published playlist, and reads the markers again afterwards (a part that
 * finished meanwhile is published by whoever sees it last). The job's `playableAt` is set once.
 * Returns whether anything was published.
 */
export async function publishProgress(deps: ProgressiveDeps, job: ActiveJob, logger?: Logger): Promise<boolean> {
  let published = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const wrote = await publishOnce(deps, job);
    if (!wrote) break;
    published = true;
    logger?.debug({ segments: wrote }, "progressive playlists published");
  }
  return published;
}

/**
 * publishProgress for a part that just finished: a failure to publish early is logged, not
 * retried (the part is done; publish writes everything at the end anyway).
 */
export async function publishProgressSafely(deps: ProgressiveDeps, job: ActiveJob, logger: Logger): Promise<void> {
  try {
    await publishProgress(deps, job, logger);
  } catch (error) {
    logger.warn({ err: error }, "could not publish the finished part early; the video is playable once ready");
  }
}

/** What the lead rung's encode has published so far; it rewrites this after each segment. */
export interface LeadRungState {
  rendition: string;
  /** The attempt prefix the segments were uploaded under. */
  location: string;
  codecs: string;
  segments: SegmentRecord[];
}

/**
 * The lead rung's encode calls this with every segment it has so far, each time ffmpeg lists a new
 * one (already uploaded under the attempt's `location`): the new segments are copied to the
 * published tree, the rung's EVENT playlist names them, the state record lets other parts' calls
 * build the master, and the master is (re)written. One writer per attempt; two attempts of the same
 * rung write the same bytes (one x264 thread count, one input), so their copies agree.
 */
export async function publishLeadSegments(deps: ProgressiveDeps, job: ActiveJob, state: LeadRungState, logger?: Logger): Promise<void> {
  const published = await publishedSegmentCount(deps.store, job.videoId, state.rendition);
  if (state.segments.length <= published) return;
  // A late duplicate must not touch a video that is already ready (or gone).
  if ((await readJob(deps.store, job.videoId))?.status !== "processing") return;
  for (const segment of state.segments.slice(published)) {
    await deps.store.copy(`${state.location}${state.rendition}/${segment.uri}`, keys.output(job.videoId, `${state.rendition}/${segment.uri}`));
  }
  await putEventPlaylist(deps.store, job, state.rendition, state.segments);
  await deps.store.put(keys.leadRungState(job.videoId), JSON.stringify(state), { contentType: "application/json" });
  await publishProgress(deps, job, logger);
}

/** One pass: the number of segments per rendition now published, or 0 when nothing was written. */
async function publishOnce(deps: ProgressiveDeps, job: ActiveJob): Promise<number> {
  const prefix = keys.partsPrefix(job.videoId);
  const present = new Set((await listAll(deps.store, prefix)).map((object) => object.key.slice(prefix.length).replace(/\.json$/, "")));
  if (job.plan.hasAudio && !present.has(partNames.audio)) return 0;
  if (job.plan.leadRung) return publishLeadMaster(deps, job, job.plan.leadRung, present);
  const done: PartRecord[] = [];
  for (const chunk of job.plan.chunks.chunks) {
    if (!present.has(partNames.chunk(chunk.index))) break;
    done.push(await readJsonObject<PartRecord>(deps.store, keys.part(job.videoId, partNames.chunk(chunk.index))));
  }
  const first = done[0];
  if (!first) return 0;
  const lowest = job.plan.renditions[job.plan.renditions.length - 1];
  if (!lowest) return 0;
  const segmentsOf = (name: string) => done.flatMap((part) => part.segments?.[name] ?? []);
  const count = segmentsOf(lowest.name).length;
  if (count <= (await publishedSegmentCount(deps.store, job.videoId, lowest.name))) return 0;

  // Every segment the playlists will name is in place before any playlist names it.
  for (const part of done) for (const rendition of job.plan.renditions) await copyMissingSegments(deps.store, job.videoId, part, rendition.name);
  const audio = await readAudioPart(deps.store, job);
  const audioSegments = audio?.segments?.audio ?? [];
  if (audio) await copyMissingSegments(deps.store, job.videoId, audio, "audio");

  // publish may have finished meanwhile: its VOD playlists must stay.
  if ((await readJob(deps.store, job.videoId))?.status !== "processing") return 0;
  const variants: VariantStream[] = [];
  for (const rendition of [...job.plan.renditions].reverse()) {
    const segments = segmentsOf(rendition.name);
    const codecs = first.codecs?.[rendition.name];
    if (!segments.length || !codecs) continue;
    await putEventPlaylist(deps.store, job, rendition.name, segments);
    variants.push(variantStream(rendition, segments, codecs, toNumber(job.plan.chunks.frameRate)));
  }
  if (audioSegments.length) await putEventPlaylist(deps.store, job, "audio", audioSegments);
  await put(deps.store, job.videoId, "master.m3u8", masterWithAudio(variants, audioSegments));

  await markPlayable(deps, job);
  return count;
}

/**
 * With a lead rung, the master names it (and the audio) as soon as it has a segment; the other
 * rungs join at publish. hls.js reads the master once, so a rung named early but behind the
 * lead's playlist could be switched to and stall the viewer; the chunks making the other rungs
 * only catch up with the lead rung at the end anyway. Written only when it changes.
 */
async function publishLeadMaster(deps: ProgressiveDeps, job: ActiveJob, leadName: string, present: ReadonlySet<string>): Promise<number> {
  const rendition = job.plan.renditions.find((r) => r.name === leadName);
  if (!rendition) return 0;
  const lead = await leadRungSoFar(deps.store, job.videoId, leadName, present);
  if (!lead?.segments.length) return 0;
  const audio = await readAudioPart(deps.store, job);
  const audioSegments = audio?.segments?.audio ?? [];
  if (job.plan.hasAudio && !audioSegments.length) return 0;
  if ((await readJob(deps.store, job.videoId))?.status !== "processing") return 0;
  // Every audio segment is in place before the master names the audio playlist.
  if (audio && (await publishedSegmentCount(deps.store, job.videoId, "audio")) < audioSegments.length) {
    await copyMissingSegments(deps.store, job.videoId, audio, "audio");
    await putEventPlaylist(deps.store, job, "audio", audioSegments);
  }
  const master = masterWithAudio([variantStream(rendition, lead.segments, lead.codecs, toNumber(job.plan.chunks.frameRate))], audioSegments);
  if ((await readText(deps.store, keys.output(job.videoId, "master.m3u8"))) === master) return 0;
  await put(deps.store, job.videoId, "master.m3u8", master);
  await markPlayable(deps, job);
  return lead.segments.length;
}

/** The lead rung's segments and codec: from its part marker once it finished, else from its running encode's state. */
async function leadRungSoFar(
  store: ObjectStore,
  videoId: string,
  leadName: string,
  present: ReadonlySet<string>,
): Promise<{ segments: SegmentRecord[]; codecs: string } | undefined> {
  if (present.has(partNames.rung(leadName))) {
    const record = await readJsonObject<PartRecord>(store, keys.part(videoId, partNames.rung(leadName)));
    const codecs = record.codecs?.[leadName];
    return codecs ? { segments: record.segments?.[leadName] ?? [], codecs } : undefined;
  }
  const state = await readJsonObjectIfExists<LeadRungState>(store, keys.leadRungState(videoId));
  return state && { segments: state.segments, codecs: state.codecs };
}

/** The audio part's marker, when the video has sound (the caller has seen that it is done). */
async function readAudioPart(store: ObjectStore, job: ActiveJob): Promise<PartRecord | undefined> {
  return job.plan.hasAudio ? readJsonObject<PartRecord>(store, keys.part(job.videoId, partNames.audio)) : undefined;
}

/** Copies a finished part's segments of one rendition from its attempt to the published tree, those not there yet. */
async function copyMissingSegments(store: ObjectStore, videoId: string, part: PartRecord, rendition: string): Promise<void> {
  if (!part.location) return;
  for (const segment of part.segments?.[rendition] ?? []) {
    const target = keys.output(videoId, `${rendition}/${segment.uri}`);
    if (!(await store.head(target))) await store.copy(`${part.location}${rendition}/${segment.uri}`, target);
  }
}

/**
 * A rendition's growing playlist: EVENT, no end list, and a target duration of at least the
 * planned segment length's, so it does not change while the playlist grows.
 */
function putEventPlaylist(store: ObjectStore, job: ActiveJob, rendition: string, segments: readonly SegmentRecord[]): Promise<void> {
  const targetDuration = Math.max(targetDurationFor([job.plan.segmentSeconds]), targetDurationFor(segments.map((s) => s.duration)));
  return put(store, job.videoId, `${rendition}/index.m3u8`, writeMediaPlaylist({ segments, targetDuration, playlistType: "EVENT" }));
}

/** The master naming these variants and, when it has segments, the audio rendition. */
function masterWithAudio(variants: VariantStream[], audioSegments: readonly SegmentRecord[]): string {
  return writeMasterPlaylist({
    variants,
    ...(audioSegments.length
      ? { audio: { groupId: "audio", name: "Main", uri: "audio/index.m3u8", channels: AUDIO_RENDITION.channels, default: true, bandwidth: measureBandwidth(audioSegments) } }
      : {}),
  });
}

async function markPlayable(deps: ProgressiveDeps, job: ActiveJob): Promise<void> {
  const current = await readJob(deps.store, job.videoId);
  if (current?.status === "processing" && !current.playableAt) {
    const timestamp = isoNow(deps.now);
    await writeJob(deps.store, { ...current, playableAt: timestamp, updatedAt: timestamp });
  }
}

async function readText(store: ObjectStore, key: string): Promise<string | undefined> {
  try {
    return (await store.getBuffer(key)).toString("utf8");
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** How many segments the published playlist of a rendition names (0: none published yet). */
async function publishedSegmentCount(store: ObjectStore, videoId: string, rendition: string): Promise<number> {
  const text = await readText(store, keys.output(videoId, `${rendition}/index.m3u8`));
  return text === undefined ? 0 : parseMediaPlaylist(text).segments.length;
}

function put(store: ObjectStore, videoId: string, path: string, body: string): Promise<void> {
  return store.put(keys.output(videoId, path), body, { contentType: contentTypeForKey(path) });
}
