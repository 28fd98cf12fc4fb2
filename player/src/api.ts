/** The vodpipe HTTP API as the page uses it (see the API contract): videos, their events, keys. */

export type VideoStatus = "uploading" | "queued" | "processing" | "ready" | "failed";

export interface Rendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  status: "pending" | "processing" | "ready";
}

export interface Video {
  id: string;
  status: VideoStatus;
  progress: number;
  etaSeconds: number | null;
  stage: string | null;
  playable: boolean;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  filename: string | null;
  size: number | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  renditions: Rendition[];
  playback: { hls: string | null; poster: string | null; storyboard: string | null };
}

export interface VideoPage {
  data: Video[];
  nextCursor: string | null;
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The sentence for a failed request: the API's own `{ error: { message } }` when it sent one. Pure. */
export function errorMessageFrom(status: number, body: string): string {
  // The API tells a program which header to send; a person on this page needs the field instead.
  if (status === 401) return "This server needs an API key for this. Enter it under “API key”, then try again.";
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === "object" ? parsed.error?.message : (parsed.error ?? parsed.message);
    if (typeof message === "string" && message.trim()) return message.trim();
  } catch {
    // Not JSON (a proxy's HTML page, say): fall through to the status.
  }
  if (status === 0) return "The server could not be reached. Check your connection and try again.";
  if (status === 403) return "The server refused this (HTTP 403).";
  if (status === 413) return "The file is larger than this server accepts.";
  if (status >= 500) return `The server failed (HTTP ${status}). Try again in a moment.`;
  return `The server answered HTTP ${status}.`;
}

const KEY_STORAGE = "vodpipe.apiKey";

/** The API key the viewer entered, kept in this browser only. */
export function apiKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled (private mode): the key lasts for this page only.
  }
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: "application/json", ...authHeaders(), ...(init.headers as Record<string, string>) } });
  } catch {
    throw new ApiError(0, errorMessageFrom(0, ""));
  }
  if (!response.ok) throw new ApiError(response.status, errorMessageFrom(response.status, await response.text()));
  return (response.status === 204 ? undefined : await response.json()) as T;
}

export const videoPath = (id: string) => `/v1/videos/${encodeURIComponent(id)}`;

export function getVideo(id: string): Promise<Video> {
  return request<Video>(videoPath(id));
}

export function listVideos(cursor: string | null = null, limit = 24): Promise<VideoPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return request<VideoPage>(`/v1/videos?${query}`);
}

export function deleteVideo(id: string): Promise<void> {
  return request<void>(videoPath(id), { method: "DELETE" });
}

export const isFinished = (video: Pick<Video, "status">) => video.status === "ready" || video.status === "failed";

export interface FollowOptions {
  onVideo(video: Video): void;
  onError?(error: ApiError): void;
  pollMs?: number;
}

/**
 * Browsers open at most six HTTP/1.1 connections to a server, and each event stream holds one
 * for as long as it is open: past two streams, more videos are followed by polling, so uploads
 * and page loads always have a connection.
 */
const MAX_EVENT_STREAMS = 2;
let openStreams = 0;

/** The ETA `elapsedMs` after it was given: the server sends it with changes only, the page counts down between them. Pure. */
export function etaAfter(video: Video, elapsedMs: number): Video {
  if (video.etaSeconds === null || video.status !== "processing") return video;
  return { ...video, etaSeconds: Math.max(1, video.etaSeconds - elapsedMs / 1000) };
}

/**
 * Follows one video until it is ready or failed: server-sent events first; when the stream cannot
 * be opened or drops, polling every `pollMs`. Between updates the ETA counts down each second.
 * Returns the function that stops following.
 */
export function followVideo(id: string, options: FollowOptions): () => void {
  const pollMs = options.pollMs ?? 1000;
  let stopped = false;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest: { video: Video; at: number } | null = null;

  const ticker = setInterval(() => {
    if (latest?.video.etaSeconds != null) options.onVideo(etaAfter(latest.video, Date.now() - latest.at));
  }, 1000);
  const closeSource = () => {
    if (!source) return;
    source.close();
    source = null;
    openStreams -= 1;
  };
  const stop = () => {
    stopped = true;
    closeSource();
    clearTimeout(timer);
    clearInterval(ticker);
  };
  const deliver = (video: Video) => {
    if (stopped) return;
    latest = { video, at: Date.now() };
    options.onVideo(video);
    if (isFinished(video)) stop();
  };
  const gone = () => {
    options.onError?.(new ApiError(404, "This video was deleted."));
    stop();
  };
  const poll = async () => {
    if (stopped) return;
    try {
      deliver(await getVideo(id));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(0, String(error));
      // A deleted video will not come back; anything else (a restart, a dropped network) may pass.
      if (apiError.status === 404) return gone();
      options.onError?.(apiError);
    }
    if (!stopped) timer = setTimeout(poll, pollMs);
  };

  if (typeof EventSource === "function" && openStreams < MAX_EVENT_STREAMS) {
    openStreams += 1;
    source = new EventSource(`${videoPath(id)}/events`);
    source.addEventListener("video", (event) => {
      try {
        deliver(JSON.parse((event as MessageEvent<string>).data) as Video);
      } catch {
        // A malformed event: the next one, or polling, brings the state.
      }
    });
    source.addEventListener("deleted", gone);
    // EventSource would reconnect by itself, also to a server without the route: poll instead.
    source.onerror = () => {
      if (stopped) return;
      closeSource();
      void poll();
    };
  } else {
    void poll();
  }
  return stop;
}
