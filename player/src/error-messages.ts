/**
 * What the viewer is told when playback fails: hls.js's error type, details and fatal flag (and
 * the HTTP status, when there was one) mapped to a sentence and whether a retry can help. Pure.
 * hls.js itself retries loads by its retry policies; only what it gives up on reaches the viewer.
 */

export interface PlayerErrorInput {
  /** hls.js ErrorTypes value: "networkError", "mediaError", "keySystemError", "muxError", "otherError". */
  type: string;
  /** hls.js ErrorDetails value, e.g. "manifestLoadError". */
  details: string;
  fatal: boolean;
  /** HTTP status of the failed load, 0 when there was no answer. */
  status?: number;
  /** navigator.onLine at the time. */
  online?: boolean;
}

export interface ViewerError {
  title: string;
  message: string;
  /** Whether offering "Try again" makes sense (a format the browser lacks will not change). */
  retry: boolean;
}

/** What the player does about an hls.js error event. */
export type ErrorResponse = "ignore" | "recover-media" | "show";

/**
 * Non-fatal errors are hls.js retrying or skipping: nothing to show. A fatal media error (a
 * decoder or buffer failure) is worth one `recoverMediaError()`; a second one, or any other
 * fatal error, is shown.
 */
export function respondTo(error: Pick<PlayerErrorInput, "type" | "fatal">, mediaRecoveriesTried: number): ErrorResponse {
  if (!error.fatal) return "ignore";
  if (error.type === "mediaError" && mediaRecoveriesTried === 0) return "recover-media";
  return "show";
}

const UNSUPPORTED = new Set(["manifestIncompatibleCodecsError", "bufferIncompatibleCodecsError", "bufferAddCodecError"]);
const UNREADABLE_PLAYLIST = new Set(["manifestParsingError", "levelParsingError", "levelEmptyError"]);
const TIMEOUTS = new Set(["manifestLoadTimeOut", "levelLoadTimeOut", "fragLoadTimeOut", "audioTrackLoadTimeOut", "keyLoadTimeOut"]);

export function describePlayerError(error: PlayerErrorInput): ViewerError {
  if (UNSUPPORTED.has(error.details)) {
    return {
      title: "This browser cannot play this video",
      message: "The video is H.264 with AAC audio, which this browser does not decode. Try another browser.",
      retry: false,
    };
  }
  if (UNREADABLE_PLAYLIST.has(error.details)) {
    return {
      title: "The stream could not be read",
      message: "The video's playlist is incomplete or damaged. If the video was just published, try again in a moment.",
      retry: true,
    };
  }
  switch (error.type) {
    case "networkError":
      return describeNetworkError(error);
    case "mediaError":
      return {
        title: "The video could not be decoded",
        message: "Playback stopped because part of the video could not be decoded. Trying again often helps; if it does not, the file may be damaged.",
        retry: true,
      };
    case "muxError":
      return {
        title: "Part of the video is damaged",
        message: "A piece of the stream could not be read, so playback stopped. Try again, or skip ahead past the damaged part.",
        retry: true,
      };
    case "keySystemError":
      return {
        title: "This video is protected",
        message: "This browser could not unlock the video for playback.",
        retry: false,
      };
    default:
      return {
        title: "Playback stopped",
        message: "The player ran into an unexpected problem. Try again; reloading the page may help.",
        retry: true,
      };
  }
}

function describeNetworkError(error: PlayerErrorInput): ViewerError {
  const what = error.details.startsWith("manifest") ? "The video" : error.details.startsWith("frag") ? "Part of the video" : "The video's stream";
  const status = error.status ?? 0;
  if (error.online === false) {
    return { title: "You are offline", message: "The connection is gone. Reconnect, then try again.", retry: true };
  }
  if (TIMEOUTS.has(error.details)) {
    return { title: "The server is not answering", message: `${what} took too long to load. Check your connection, then try again.`, retry: true };
  }
  if (status === 404 || status === 410) {
    return { title: "The video is not there", message: `${what} could not be found on the server (HTTP ${status}). It may have been deleted.`, retry: true };
  }
  if (status === 401 || status === 403) {
    return {
      title: "Playback was refused",
      message: `The server refused to send the video (HTTP ${status}). The playback link may have expired: reload the page.`,
      retry: true,
    };
  }
  if (status >= 500) {
    return { title: "The server had a problem", message: `${what} could not be loaded because the server failed (HTTP ${status}). Try again in a moment.`, retry: true };
  }
  if (status >= 400) {
    return { title: "The video could not be loaded", message: `The server answered HTTP ${status} for ${what.toLowerCase()}.`, retry: true };
  }
  return { title: "The video could not be loaded", message: `${what} could not be downloaded: the connection to the server failed. Check your connection, then try again.`, retry: true };
}

/** The same for the browser's own player (native HLS on Safari): HTMLMediaElement's MediaError codes. */
export function describeMediaElementError(code: number, online = true): ViewerError {
  switch (code) {
    case 2:
      return online
        ? { title: "The video could not be loaded", message: "The connection to the server failed while loading the video. Try again.", retry: true }
        : { title: "You are offline", message: "The connection is gone. Reconnect, then try again.", retry: true };
    case 3:
      return describePlayerError({ type: "mediaError", details: "bufferAppendError", fatal: true });
    case 4:
      return {
        title: "This browser cannot play this video",
        message: "The browser could not open the stream. It may not support this format, or the stream is missing.",
        retry: true,
      };
    default:
      return { title: "Playback stopped", message: "Playback was interrupted. Try again.", retry: true };
  }
}
