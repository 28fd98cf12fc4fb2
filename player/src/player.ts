/** The player: a <video> driven by hls.js (or Safari's own HLS), with controls, previews and errors. */
import type HlsClass from "hls.js";
import type { ErrorData, LevelSwitchedData } from "hls.js";
import { createControls, mediaDuration } from "./controls.ts";
import { h, icon, ICONS } from "./dom.ts";
import { chooseEngine, isAppleWebKit, type Engine } from "./engine.ts";
import { describeMediaElementError, describePlayerError, respondTo } from "./error-messages.ts";
import { createErrorOverlay } from "./error-overlay.ts";
import { bindKeyboard, type KeyTarget } from "./keyboard.ts";
import { createQualityMenu } from "./quality.ts";
import { createStoryboardPreview } from "./storyboard-preview.ts";

declare const __HLS_SCRIPT__: string;

/** What the page leaves on `window.vodpipePlayer` for debugging and the browser tests. */
export interface PlayerDebug {
  engine: Engine;
  hls: HlsClass | null;
  /** Every hls.js error event seen, fatal or not. */
  errors: Array<{ type: string; details: string; fatal: boolean }>;
}

declare global {
  interface Window {
    Hls?: typeof HlsClass;
    vodpipePlayer?: PlayerDebug;
  }
  interface HTMLVideoElement {
    webkitEnterFullscreen?: () => void;
  }
}

let hlsLoading: Promise<typeof HlsClass | null> | undefined;

/** hls.js is loaded on the first watch page only, from the server's copy of the npm package. */
function loadHls(): Promise<typeof HlsClass | null> {
  if (window.Hls) return Promise.resolve(window.Hls);
  hlsLoading ??= new Promise((resolve) => {
    const script = h("script", { src: __HLS_SCRIPT__ });
    script.onload = () => resolve(window.Hls ?? null);
    script.onerror = () => {
      hlsLoading = undefined;
      resolve(null);
    };
    document.head.append(script);
  });
  return hlsLoading;
}

export interface PlayerSource {
  hls: string;
  poster: string | null;
  storyboard: string | null;
  title: string;
  /** The picture's display size, when known: the player takes its shape. */
  width?: number | null;
  height?: number | null;
}

export interface Player {
  element: HTMLElement;
  /** Poster and storyboard appear while a playable video is still processing: take them when they do. */
  setImages(images: { poster: string | null; storyboard: string | null }): void;
  destroy(): void;
}

const IDLE_MS = 2500;
const VOLUME_KEY = "vodpipe.volume";

function readSavedVolume(): { volume: number; muted: boolean } | null {
  try {
    const value = JSON.parse(localStorage.getItem(VOLUME_KEY) ?? "null") as { volume?: unknown; muted?: unknown } | null;
    if (typeof value?.volume !== "number" || value.volume < 0 || value.volume > 1) return null;
    return { volume: value.volume, muted: value.muted === true };
  } catch {
    return null;
  }
}

function saveVolume(volume: number, muted: boolean): void {
  try {
    localStorage.setItem(VOLUME_KEY, JSON.stringify({ volume, muted }));
  } catch {
    // Storage disabled: the volume lasts for this video only.
  }
}

/** The player's shape: the picture's own for landscape (no bars), square at most for portrait, so it stays on screen. */
export function playerAspect(width: number, height: number): number {
  return Math.round(Math.max(1, Math.min(21 / 9, width / height)) * 1000) / 1000;
}

export function createPlayer(source: PlayerSource): Player {
  const video = h("video", { playsinline: true, "webkit-playsinline": true, preload: "metadata", poster: source.poster, "aria-label": source.title });
  const bigPlay = h("button", { type: "button", class: "big-play", "aria-label": "Play" }, icon(ICONS.play));
  const spinner = h("div", { class: "spinner", role: "status", "aria-label": "Loading", hidden: true });
  const overlay = createErrorOverlay(() => retry());
  const preview = createStoryboardPreview(source.storyboard);
  const element = h("div", { class: "player", "data-state": "loading" }, video, bigPlay, spinner, overlay.element);
  if (source.width && source.height) {
    element.style.aspectRatio = String(playerAspect(source.width, source.height));
    element.classList.toggle("wide", source.width / source.height > 16 / 9);
  }
  const debug: PlayerDebug = { engine: "none", hls: null, errors: [] };
  window.vodpipePlayer = debug;

  let hls: HlsClass | null = null;
  let mediaRecoveries = 0;
  let destroyed = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const cleanups: Array<() => void> = [];

  const duration = () => mediaDuration(video);
  const seekTo = (time: number) => {
    video.currentTime = Math.max(0, Math.min(duration() || time, time));
  };
  const isFullscreen = () => document.fullscreenElement === element;
  const actions: KeyTarget = {
    togglePlay: () => (video.paused || video.ended ? void video.play().catch(() => {}) : video.pause()),
    seekBy: (seconds) => seekTo(video.currentTime + seconds),
    seekToFraction: (fraction) => seekTo(duration() * fraction),
    volumeBy: (delta) => {
      video.muted = false;
      video.volume = Math.round(Math.max(0, Math.min(1, video.volume + delta)) * 100) / 100;
    },
    toggleMute: () => (video.muted = !video.muted),
    toggleFullscreen: () => {
      if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
      else if (element.requestFullscreen) {
        void element.requestFullscreen().then(
          // A landscape video on a phone turns the picture sideways, as video apps do.
          () => (video.videoWidth > video.videoHeight ? (screen.orientation as ScreenOrientation & { lock?(o: string): Promise<void> }).lock?.("landscape").catch(() => {}) : undefined),
          () => {},
        );
      } else video.webkitEnterFullscreen?.();
    },
  };

  const quality = createQualityMenu({
    levels: () => hls?.levels ?? [],
    autoEnabled: () => hls?.autoLevelEnabled ?? true,
    playingLevel: () => hls?.currentLevel ?? -1,
    chosenLevel: () => (hls && !hls.autoLevelEnabled ? hls.manualLevel : -1),
    choose: (level) => {
      if (!hls) return;
      // A picked rung switches now (the buffer is flushed); Auto takes over from the next segment.
      if (level >= 0) hls.currentLevel = level;
      else hls.nextLevel = -1;
    },
  });
  cleanups.push(quality.destroy);
  const controls = createControls({
    video,
    actions,
    preview,
    quality: quality.element,
    fullscreenAvailable: document.fullscreenEnabled || typeof video.webkitEnterFullscreen === "function",
    isFullscreen,
  });
  cleanups.push(controls.destroy);
  element.insertBefore(controls.element, overlay.element);

  const setState = () => {
    element.dataset.state = video.ended ? "ended" : video.paused ? "paused" : "playing";
    bigPlay.hidden = !video.paused || overlay.visible;
  };
  const showIdleLater = () => {
    element.classList.remove("idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      const busy = element.querySelector(".menu:not([hidden])") || controls.element.contains(document.activeElement);
      if (!video.paused && !busy) element.classList.add("idle");
    }, IDLE_MS);
  };

  const onHlsError = (_event: string, data: ErrorData) => {
    debug.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
    const response = respondTo(data, mediaRecoveries);
    if (response === "ignore") return;
    if (response === "recover-media" && hls) {
      mediaRecoveries += 1;
      hls.recoverMediaError();
      return;
    }
    const status = data.response?.code;
    showError(describePlayerError({ type: data.type, details: data.details, fatal: data.fatal, status, online: navigator.onLine }));
  };
  const showError = (error: Parameters<typeof overlay.show>[0]) => {
    element.dataset.state = "error";
    spinner.hidden = true;
    overlay.show(error);
    bigPlay.hidden = true;
  };

  const start = (engine: Engine, Hls: typeof HlsClass | null, startAt: number) => {
    debug.engine = engine;
    element.dataset.engine = engine;
    if (engine === "hls.js" && Hls) {
      // startPosition 0: a growing (EVENT) playlist has no ENDLIST, and hls.js would start it near its live edge.
      hls = new Hls({ startPosition: startAt, capLevelToPlayerSize: true });
      debug.hls = hls;
      hls.on(Hls.Events.ERROR, onHlsError);
      hls.on(Hls.Events.MANIFEST_PARSED, () => quality.update());
      hls.on(Hls.Events.LEVEL_SWITCHED, (_event: string, data: LevelSwitchedData) => {
        element.dataset.level = String(data.level);
        quality.update();
      });
      hls.loadSource(new URL(source.hls, location.href).href);
      hls.attachMedia(video);
    } else if (engine === "native") {
      video.src = source.hls;
      if (startAt > 0) video.addEventListener("loadedmetadata", () => (video.currentTime = startAt), { once: true });
    } else {
      showError({ title: "This browser cannot play HLS", message: "It has neither Media Source Extensions nor built-in HLS. Try a current browser.", retry: false });
    }
  };
  const begin = async (startAt: number, autoplay: boolean) => {
    const Hls = await loadHls();
    if (destroyed) return;
    const engine = chooseEngine({
      hlsJsSupported: Hls?.isSupported() ?? false,
      nativeHls: video.canPlayType("application/vnd.apple.mpegurl") !== "",
      appleWebKit: isAppleWebKit(navigator.userAgent, navigator.maxTouchPoints, navigator.platform),
    });
    start(engine, Hls, startAt);
    if (autoplay) void video.play().catch(() => {});
  };
  const retry = () => {
    const position = video.currentTime;
    hls?.destroy();
    hls = null;
    debug.hls = null;
    mediaRecoveries = 0;
    overlay.hide();
    void begin(position, true);
  };

  video.addEventListener("error", () => {
    // With hls.js the element's own errors are hls.js's to report; with native HLS they are all there is.
    if (debug.engine === "native" && video.error) showError(describeMediaElementError(video.error.code, navigator.onLine));
  });
  for (const name of ["play", "pause", "ended", "playing", "loadedmetadata"]) video.addEventListener(name, setState);
  video.addEventListener("waiting", () => (spinner.hidden = false));
  for (const name of ["playing", "pause", "canplay", "seeked"]) video.addEventListener(name, () => (spinner.hidden = true));
  video.addEventListener("playing", () => {
    // Playback that runs again after a recovery earns another recovery attempt later.
    if (mediaRecoveries > 0) video.addEventListener("timeupdate", () => (mediaRecoveries = 0), { once: true });
    showIdleLater();
  });
  video.addEventListener("pause", () => element.classList.remove("idle"));
  bigPlay.addEventListener("click", () => actions.togglePlay());
  video.addEventListener("click", (event) => {
    // On a touch screen the first tap brings the controls back; the next one plays or pauses.
    if ((event as PointerEvent).pointerType === "touch" && element.classList.contains("idle")) return showIdleLater();
    actions.togglePlay();
  });
  video.addEventListener("dblclick", () => actions.toggleFullscreen());
  element.addEventListener("pointermove", showIdleLater);
  element.addEventListener("focusin", showIdleLater);
  cleanups.push(bindKeyboard(document, actions));

  // The volume a viewer set carries over to the next video, as on every video site.
  const saved = readSavedVolume();
  if (saved) {
    video.volume = saved.volume;
    video.muted = saved.muted;
  }
  video.addEventListener("volumechange", () => saveVolume(video.volume, video.muted));

  setState();
  void begin(0, false);

  return {
    element,
    setImages(images) {
      if (images.poster && !video.getAttribute("poster")) video.poster = images.poster;
      preview.setSource(images.storyboard);
    },
    destroy() {
      destroyed = true;
      clearTimeout(idleTimer);
      for (const cleanup of cleanups) cleanup();
      hls?.destroy();
      hls = null;
      video.removeAttribute("src");
      video.load();
      if (window.vodpipePlayer === debug) delete window.vodpipePlayer;
    },
  };
}
