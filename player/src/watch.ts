/** The watch page: the player once the video can play; until then its progress, or why it failed. */
import { ApiError, followVideo, getVideo, isFinished, type Video } from "./api.ts";
import { h, progressBar, replace } from "./dom.ts";
import { formatBytes, formatClock, formatRemaining } from "./format.ts";
import { videoTitle } from "./list.ts";
import { createPlayer, type Player } from "./player.ts";
import { asSentence, shownPercent, stageLabel } from "./status.ts";

export interface View {
  element: HTMLElement;
  dispose(): void;
}

export function createWatchView(id: string): View {
  const title = h("h1", { class: "watch-title" }, "Loading…");
  const stage = h("div", { class: "stage" });
  const note = h("p", { class: "watch-note", role: "status" });
  const details = h("dl", { class: "details" });
  const element = h(
    "section",
    { class: "watch" },
    h("p", { class: "back" }, h("a", { href: "/", "data-nav": true }, "← All videos")),
    stage,
    title,
    note,
    details,
  );

  let player: Player | null = null;
  let stopFollowing: (() => void) | null = null;
  let processing: ReturnType<typeof createProcessingPanel> | null = null;
  let detailsShown = "";

  const show = (video: Video) => {
    const name = videoTitle(video);
    title.textContent = name;
    document.title = `${name} · vodpipe`;
    if (video.playable && video.playback.hls) {
      if (!player) {
        processing = null;
        const top = [...video.renditions].sort((a, b) => b.width * b.height - a.width * a.height)[0];
        player = createPlayer({
          hls: video.playback.hls,
          poster: video.playback.poster,
          storyboard: video.playback.storyboard,
          title: name,
          width: top?.width ?? video.width,
          height: top?.height ?? video.height,
        });
        replace(stage, player.element);
      } else {
        player.setImages(video.playback);
      }
      // With progressive publish a video plays before it is ready: say that more is coming.
      note.textContent = video.status === "ready" ? "" : `Still processing — ${shownPercent(video)}%: the rest of the video is on its way.`;
    } else if (video.status === "failed") {
      replace(stage, failedPanel(video));
      note.textContent = "";
    } else {
      processing ??= createProcessingPanel();
      if (!stage.contains(processing.element)) replace(stage, processing.element);
      processing.update(video);
    }
    // Redrawn on real changes only, not on every tick of the ETA (a selected URL stays selected).
    const facts = JSON.stringify([video.duration, video.width, video.height, video.size, video.renditions, video.playback.hls]);
    if (facts !== detailsShown) renderDetails(details, video);
    detailsShown = facts;
  };

  getVideo(id)
    .then((video) => {
      show(video);
      if (!isFinished(video)) stopFollowing = followVideo(id, { onVideo: show, onError: (error) => (note.textContent = error.message) });
    })
    .catch((error: unknown) => {
      const notFound = error instanceof ApiError && error.status === 404;
      title.textContent = notFound ? "No such video" : "The video could not be loaded";
      document.title = "vodpipe";
      replace(
        stage,
        h(
          "div",
          { class: "panel", role: "alert" },
          h("p", {}, notFound ? "There is no video with this address. It may have been deleted." : error instanceof Error ? error.message : String(error)),
          h("a", { class: "button", href: "/", "data-nav": true }, "See all videos"),
        ),
      );
    });

  return {
    element,
    dispose() {
      stopFollowing?.();
      player?.destroy();
    },
  };
}

function createProcessingPanel() {
  const heading = h("p", { class: "panel-title" });
  const bar = progressBar("Processing");
  const line = h("p", { class: "panel-detail" });
  const element = h("div", { class: "panel processing", role: "status" }, heading, bar.element, line);
  return {
    element,
    update(video: Video) {
      const percent = shownPercent(video);
      if (video.playback.poster) element.style.backgroundImage = `linear-gradient(rgba(0,0,0,.6), rgba(0,0,0,.6)), url("${video.playback.poster}")`;
      if (video.status === "uploading") {
        heading.textContent = "Still uploading";
        line.textContent = "The upload has not finished yet. Processing starts as soon as it has.";
        bar.set(null);
        return;
      }
      heading.textContent = video.status === "queued" ? "Queued — processing starts soon" : `Still processing — ${percent}%`;
      const parts: string[] = [];
      const stage = stageLabel(video.stage);
      if (video.status === "processing" && stage) parts.push(`Now ${stage}`);
      if (video.etaSeconds !== null && video.etaSeconds > 0) parts.push(`about ${formatRemaining(video.etaSeconds)} left`);
      line.textContent = parts.length > 0 ? `${parts.join(", ")}. The video plays here as soon as it can.` : "The video plays here as soon as it can.";
      bar.set(video.status === "queued" ? null : percent, `${percent}%`);
    },
  };
}

function failedPanel(video: Video): HTMLElement {
  return h(
    "div",
    { class: "panel failed", role: "alert" },
    h("p", { class: "panel-title" }, "This video could not be processed"),
    h("p", { class: "reason" }, asSentence(video.reason)),
    h("a", { class: "button", href: "/", "data-nav": true }, "Upload another video"),
  );
}

function renderDetails(details: HTMLElement, video: Video): void {
  const rows: Array<[string, string | Node]> = [];
  if (video.duration) rows.push(["Duration", formatClock(video.duration)]);
  if (video.width && video.height) rows.push(["Source", `${video.width}×${video.height}`]);
  if (video.size) rows.push(["File size", formatBytes(video.size)]);
  const renditions = video.renditions.map((r) => (r.status === "ready" ? r.name : `${r.name} (${r.status})`));
  if (renditions.length > 0) rows.push(["Renditions", renditions.join(", ")]);
  rows.push(["Uploaded", new Date(video.createdAt).toLocaleString()]);
  if (video.playback.hls) {
    const url = new URL(video.playback.hls, location.href).href;
    const field = h("input", { type: "text", readonly: true, value: url, class: "url-field", "aria-label": "HLS stream URL" });
    const copy = h("button", { type: "button", class: "button subtle", "aria-label": "Copy the HLS stream URL" }, "Copy");
    copy.addEventListener("click", () => {
      void navigator.clipboard?.writeText(url).then(() => (copy.textContent = "Copied"), () => field.select());
    });
    rows.push(["Stream", h("span", { class: "url-row" }, field, copy)]);
  }
  replace(details, ...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}
