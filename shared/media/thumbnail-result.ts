/** What the thumbnails stage made for a video: the record publish reads to list the files. */
export type ImageFormat = "jpeg" | "webp";

export interface ThumbnailFile {
  /** Relative to outDir. */
  path: string;
  width: number;
  height: number;
  format: ImageFormat;
}

export interface PosterCandidate {
  time: number;
  entropy: number;
  /** Mean standard deviation of R, G and B: breaks entropy ties. */
  contrast: number;
}

export interface ThumbnailResult {
  poster: { time: number; entropy: number; candidates: PosterCandidate[]; files: ThumbnailFile[] };
  storyboard: {
    vtt: string;
    sheets: ThumbnailFile[];
    tileWidth: number;
    tileHeight: number;
    columns: number;
    rows: number;
    interval: number;
    tileCount: number;
  };
}
