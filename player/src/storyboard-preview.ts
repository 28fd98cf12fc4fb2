/** Seek-bar hover (and touch-drag) previews: the storyboard tile for the time under the pointer. */
import { h } from "./dom.ts";
import { formatClock } from "./format.ts";
import { parseStoryboardVtt, tileAt, type StoryboardTile } from "./storyboard-vtt.ts";

/** Size of a tile whose cue shows a whole image (no #xywh=): the storyboard's usual tile. */
const WHOLE_IMAGE = { width: 160, height: 90 };
const RELOAD_MS = 5000;

export interface StoryboardPreview {
  element: HTMLElement;
  /** Shows the preview for `time`, centred over `x` (px from the seek bar's left), kept inside `width`. */
  show(time: number, x: number, width: number): void;
  hide(): void;
  /** The storyboard's URL once it exists (a video still processing gets it later); kept once its tiles are loaded. */
  setSource(vttUrl: string | null): void;
}

export function createStoryboardPreview(initialUrl: string | null): StoryboardPreview {
  const image = h("div", { class: "preview-image" });
  const time = h("span", { class: "preview-time" });
  const element = h("div", { class: "preview", "aria-hidden": "true", hidden: true }, image, time);
  let tiles: StoryboardTile[] = [];
  let vttUrl = initialUrl;

  // While a video is still processing its storyboard may not be there yet: a failed load is
  // tried again on a later hover, at most every few seconds.
  let loading = false;
  let lastAttempt = 0;
  const load = () => {
    if (!vttUrl || loading || tiles.length > 0 || Date.now() - lastAttempt < RELOAD_MS) return;
    loading = true;
    lastAttempt = Date.now();
    const absolute = new URL(vttUrl, location.href).href;
    fetch(absolute)
      .then((response) => (response.ok ? response.text() : ""))
      .then((text) => {
        tiles = parseStoryboardVtt(text, absolute);
        // Fetch the sheets now, so the first hover shows a picture rather than an empty box.
        for (const url of new Set(tiles.map((tile) => tile.url))) new Image().src = url;
      })
      .catch(() => {
        // No storyboard: the preview shows the time alone.
      })
      .finally(() => (loading = false));
  };
  load();

  return {
    element,
    show(seconds, x, width) {
      load();
      const tile = tileAt(tiles, seconds);
      if (tile) {
        const whole = tile.width === 0 || tile.height === 0;
        const size = whole ? WHOLE_IMAGE : { width: tile.width, height: tile.height };
        image.hidden = false;
        image.style.width = `${size.width}px`;
        image.style.height = `${size.height}px`;
        image.style.backgroundImage = `url("${tile.url}")`;
        image.style.backgroundPosition = whole ? "center" : `-${tile.x}px -${tile.y}px`;
        image.style.backgroundSize = whole ? "cover" : "";
      } else {
        image.hidden = true;
      }
      time.textContent = formatClock(seconds);
      element.hidden = false;
      const half = (tile ? (tile.width || WHOLE_IMAGE.width) : 48) / 2;
      element.style.left = `${Math.max(half, Math.min(width - half, x))}px`;
    },
    hide() {
      element.hidden = true;
    },
    setSource(url) {
      if (!url || tiles.length > 0 || url === vttUrl) return;
      const first = vttUrl === null;
      vttUrl = url;
      if (first) {
        lastAttempt = 0;
        load();
      }
    },
  };
}
