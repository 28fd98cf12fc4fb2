/** The control bar: play, seek (with storyboard previews), time, volume, quality, fullscreen. */
import { h, icon, ICONS } from "./dom.ts";
import { formatClock } from "./format.ts";
import type { KeyTarget } from "./keyboard.ts";
import type { StoryboardPreview } from "./storyboard-preview.ts";

/**
 * How long the video is as far as the viewer can seek: a growing (EVENT) playlist reports an
 * infinite duration while it is published, so its seekable end stands in.
 */
export function mediaDuration(video: HTMLMediaElement): number {
  if (Number.isFinite(video.duration)) return video.duration;
  const seekable = video.seekable;
  return seekable.length > 0 ? seekable.end(seekable.length - 1) : 0;
}

export interface Controls {
  element: HTMLElement;
  /** The seek slider (the e2e test hovers it). */
  seek: HTMLInputElement;
  destroy(): void;
}

export interface ControlsOptions {
  video: HTMLVideoElement;
  actions: KeyTarget;
  preview: StoryboardPreview;
  /** The quality menu, when the engine has levels to offer. */
  quality: HTMLElement | null;
  fullscreenAvailable: boolean;
  isFullscreen(): boolean;
}

export function createControls(options: ControlsOptions): Controls {
  const { video, actions, preview } = options;
  const play = h("button", { type: "button", class: "ctl", "aria-label": "Play", "aria-keyshortcuts": "k Space" }, icon(ICONS.play));
  const seek = h("input", { type: "range", class: "seek", min: 0, max: 0, step: "any", value: 0, "aria-label": "Seek", "aria-keyshortcuts": "ArrowLeft ArrowRight" });
  const buffered = h("div", { class: "seek-buffered" });
  const played = h("div", { class: "seek-played" });
  const seekWrap = h("div", { class: "seek-wrap" }, h("div", { class: "seek-track" }, buffered, played), seek, preview.element);
  const time = h("span", { class: "time", "aria-live": "off" }, "0:00 / 0:00");
  const mute = h("button", { type: "button", class: "ctl", "aria-label": "Mute", "aria-keyshortcuts": "m" }, icon(ICONS.volume));
  const volume = h("input", { type: "range", class: "volume", min: 0, max: 1, step: 0.05, value: 1, "aria-label": "Volume", "aria-keyshortcuts": "ArrowUp ArrowDown" });
  const fullscreen = h("button", { type: "button", class: "ctl", "aria-label": "Full screen", "aria-keyshortcuts": "f", hidden: !options.fullscreenAvailable }, icon(ICONS.fullscreen));
  const element = h(
    "div",
    { class: "controls" },
    seekWrap,
    h("div", { class: "control-row" }, play, h("div", { class: "volume-group" }, mute, volume), time, h("span", { class: "spacer" }), options.quality, fullscreen),
  );

  let scrubbing = false;
  const duration = () => mediaDuration(video);

  const showTime = (current: number) => {
    const total = duration();
    time.textContent = `${formatClock(current)} / ${formatClock(total)}`;
    seek.setAttribute("aria-valuetext", `${formatClock(current)} of ${formatClock(total)}`);
    played.style.width = total > 0 ? `${(current / total) * 100}%` : "0";
  };
  const onTime = () => {
    if (scrubbing) return;
    seek.max = String(duration());
    seek.value = String(video.currentTime);
    showTime(video.currentTime);
  };
  const onProgress = () => {
    const total = duration();
    const ranges = video.buffered;
    let end = 0;
    for (let i = 0; i < ranges.length; i += 1) {
      if (ranges.start(i) <= video.currentTime + 0.5) end = Math.max(end, ranges.end(i));
    }
    buffered.style.width = total > 0 ? `${(end / total) * 100}%` : "0";
  };
  const onPlayState = () => {
    const paused = video.paused;
    play.replaceChildren(icon(paused ? ICONS.play : ICONS.pause));
    play.setAttribute("aria-label", paused ? "Play" : "Pause");
  };
  const onVolume = () => {
    const silent = video.muted || video.volume === 0;
    mute.replaceChildren(icon(silent ? ICONS.muted : ICONS.volume));
    mute.setAttribute("aria-label", silent ? "Unmute" : "Mute");
    volume.value = String(video.muted ? 0 : video.volume);
    volume.setAttribute("aria-valuetext", `${Math.round((video.muted ? 0 : video.volume) * 100)}%`);
  };
  const onFullscreen = () => {
    const on = options.isFullscreen();
    fullscreen.replaceChildren(icon(on ? ICONS.exitFullscreen : ICONS.fullscreen));
    fullscreen.setAttribute("aria-label", on ? "Exit full screen" : "Full screen");
  };

  const previewAt = (clientX: number) => {
    const rect = seek.getBoundingClientRect();
    if (rect.width <= 0 || duration() <= 0) return;
    const x = Math.max(0, Math.min(rect.width, clientX - rect.left));
    preview.show((x / rect.width) * duration(), x, rect.width);
  };
  /** Where the slider's thumb is, for previews while dragging with a finger or the keyboard. */
  const previewAtValue = () => {
    const rect = seek.getBoundingClientRect();
    if (duration() > 0) preview.show(Number(seek.value), (Number(seek.value) / duration()) * rect.width, rect.width);
  };

  play.addEventListener("click", () => actions.togglePlay());
  mute.addEventListener("click", () => actions.toggleMute());
  fullscreen.addEventListener("click", () => actions.toggleFullscreen());
  volume.addEventListener("input", () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  seek.addEventListener("pointermove", (event) => previewAt(event.clientX));
  seek.addEventListener("pointerleave", () => {
    if (!scrubbing) preview.hide();
  });
  seek.addEventListener("pointerdown", () => (scrubbing = true));
  seek.addEventListener("input", () => {
    scrubbing = true;
    showTime(Number(seek.value));
    previewAtValue();
  });
  seek.addEventListener("change", () => {
    scrubbing = false;
    video.currentTime = Number(seek.value);
    if (!seek.matches(":hover")) preview.hide();
  });
  seek.addEventListener("pointerup", () => {
    scrubbing = false;
  });

  const mediaEvents: Array<[string, () => void]> = [
    ["timeupdate", onTime],
    ["durationchange", onTime],
    ["loadedmetadata", onTime],
    ["seeked", onTime],
    ["progress", onProgress],
    ["timeupdate", onProgress],
    ["play", onPlayState],
    ["pause", onPlayState],
    ["ended", onPlayState],
    ["volumechange", onVolume],
  ];
  for (const [name, listener] of mediaEvents) video.addEventListener(name, listener);
  document.addEventListener("fullscreenchange", onFullscreen);
  onTime();
  onPlayState();
  onVolume();

  return {
    element,
    seek,
    destroy() {
      for (const [name, listener] of mediaEvents) video.removeEventListener(name, listener);
      document.removeEventListener("fullscreenchange", onFullscreen);
    },
  };
}
