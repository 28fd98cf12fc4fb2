/**
 * Where everything lives in the object store. One function per kind of object, so every service
 * derives the same deterministic key (re-running a step overwrites, never duplicates).
 */
const pad = (n: number, width: number) => String(n).padStart(width, "0");

export const keys = {
  sourcePrefix: (videoId: string) => `sources/${videoId}/`,
  source: (videoId: string, extension: string) => `sources/${videoId}/source${extension}`,
  videoPrefix: (videoId: string) => `videos/${videoId}/`,
  job: (videoId: string) => `videos/${videoId}/job.json`,
  workPrefix: (videoId: string) => `videos/${videoId}/work/`,
  chunk: (videoId: string, index: number) => `videos/${videoId}/work/chunks/chunk-${pad(index, 3)}.mkv`,
  partsPrefix: (videoId: string) => `videos/${videoId}/work/parts/`,
  part: (videoId: string, part: string) => `videos/${videoId}/work/parts/${part}.json`,
  /** Everything a viewer may fetch sits under this prefix. */
  outputPrefix: (videoId: string) => `videos/${videoId}/hls/`,
  output: (videoId: string, path: string) => `videos/${videoId}/hls/${path}`,
};

export const partNames = {
  chunk: (index: number) => `chunk-${pad(index, 3)}`,
  audio: "audio",
  thumbnails: "thumbnails",
};

