import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * What a viewer sees of a job on the embedded (filesystem) store: when the upload was complete
 * and when each segment first appeared in a published media playlist, read by polling the store's
 * folder from the benchmark's own process (so the pipeline's CPU is not charged for it). A
 * viewer who starts at the playable moment at 1× is then replayed against those times.
 */

export interface SegmentAppearance {
  /** Media time the segment starts at, seconds. */
  start: number;
  duration: number;
  /** Epoch ms when a published playlist first named it. */
  seenAtMs: number;
}

export interface StoreWatch {
  stop(): { uploadCompleteMs: number | undefined; playlists: Record<string, SegmentAppearance[]> };
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Polls `storeRoot` every `intervalMs` for the source object and each rendition's `index.m3u8` under videos/<id>/hls/. */
export function watchStore(storeRoot: string, intervalMs = 100): StoreWatch {
  let uploadCompleteMs: number | undefined;
  const playlists: Record<string, SegmentAppearance[]> = {};
  const lastText = new Map<string, string>();
  const poll = () => {
    const now = Date.now();
    if (uploadCompleteMs === undefined) {
      // The store writes a temp file and renames it into place: the first file under sources/ is a complete upload.
      const sources = join(storeRoot, "sources");
      if (listDir(sources).some((id) => listDir(join(sources, id)).some((name) => isFile(join(sources, id, name))))) uploadCompleteMs = now;
    }
    const videos = join(storeRoot, "videos");
    for (const id of listDir(videos)) {
      const hls = join(videos, id, "hls");
      for (const rendition of listDir(hls)) {
        const path = join(hls, rendition, "index.m3u8");
        let text: string;
        try {
          text = readFileSync(path, "utf8");
        } catch {
          continue;
        }
        if (lastText.get(path) === text) continue;
        lastText.set(path, text);
        const seen = (playlists[rendition] ??= []);
        let start = 0;
        let index = 0;
        for (const match of text.matchAll(/^#EXTINF:([0-9.]+)/gm)) {
          const duration = Number(match[1]);
          if (index >= seen.length) seen.push({ start, duration, seenAtMs: now });
          start += duration;
          index += 1;
        }
      }
    }
  };
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
      return { uploadCompleteMs, playlists };
    },
  };
}

export interface ViewerReplay {
  stalls: number;
  stalledSeconds: number;
  /** Seconds from pressing play (the playable moment) until the first frame could show. */
  startupWaitSeconds: number;
  segments: number;
}

/**
 * A viewer who presses play at `playMs` and watches at 1× from the start: segment i is needed
 * at play time + its media start + the stalls so far; if it (or the audio covering its start)
 * appeared later, playback stalls until it did. No read-ahead buffer is assumed beyond that.
 */
export function replayViewer(video: readonly SegmentAppearance[], audio: readonly SegmentAppearance[] | undefined, playMs: number): ViewerReplay {
  const audioAt = (t: number) => {
    if (!audio?.length) return -Infinity;
    const covering = audio.find((s) => t >= s.start - 1e-6 && t < s.start + s.duration - 1e-6) ?? audio[audio.length - 1]!;
    return covering.seenAtMs;
  };
  let stalled = 0;
  let stalls = 0;
  let startupWait = 0;
  video.forEach((segment, i) => {
    const available = Math.max(segment.seenAtMs, audioAt(segment.start));
    const needed = playMs + (segment.start + stalled) * 1000 + startupWait * 1000;
    if (available <= needed) return;
    const wait = (available - needed) / 1000;
    if (i === 0) startupWait = wait;
    else {
      stalls += 1;
      stalled += wait;
    }
  });
  const r = (v: number) => Math.round(v * 100) / 100;
  return { stalls, stalledSeconds: r(stalled), startupWaitSeconds: r(startupWait), segments: video.length };
}
