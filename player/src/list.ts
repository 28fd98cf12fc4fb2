/** The list of videos, newest first, with live status, posters and failure reasons. */
import { ApiError, deleteVideo, isFinished, listVideos, type Video } from "./api.ts";
import { h, progressBar, replace } from "./dom.ts";
import { formatAge, formatClock } from "./format.ts";
import { asSentence, progressLine, shownPercent, STATUS_WORDS, statusLine } from "./status.ts";

/** While something is on its way the list looks again every 2 s; otherwise now and then. */
const BUSY_POLL_MS = 2000;
const IDLE_POLL_MS = 15000;
const PAGE = 24;

export interface VideoList {
  element: HTMLElement;
  refresh(): void;
  dispose(): void;
}

export const videoTitle = (video: Pick<Video, "filename" | "id">) => video.filename ?? video.id;

export function createVideoList(): VideoList {
  const items = h("ul", { class: "video-grid", "aria-label": "Videos" });
  const message = h("p", { class: "list-message", role: "status" });
  const more = h("button", { type: "button", class: "button", hidden: true }, "Show older videos");
  const element = h("section", { class: "library", "aria-labelledby": "library-title" }, h("h2", { id: "library-title" }, "Videos"), message, items, more);

  const rows = new Map<string, { element: HTMLElement; update(video: Video): void }>();
  let firstPage: Video[] = [];
  let older: Video[] = [];
  let cursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let loading: Promise<void> | null = null;

  const render = () => {
    const seen = new Set<string>();
    const videos = [...firstPage, ...older.filter((video) => !firstPage.some((first) => first.id === video.id))];
    const ordered: HTMLElement[] = [];
    for (const video of videos) {
      seen.add(video.id);
      let row = rows.get(video.id);
      if (!row) {
        row = createRow(video, () => {
          rows.delete(video.id);
          firstPage = firstPage.filter((v) => v.id !== video.id);
          older = older.filter((v) => v.id !== video.id);
          render();
        });
        rows.set(video.id, row);
      }
      row.update(video);
      ordered.push(row.element);
    }
    for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
    items.replaceChildren(...ordered);
    message.textContent = videos.length === 0 ? "No videos yet. Upload one above: it shows up here while it is processed." : "";
    more.hidden = cursor === null;
  };

  const schedule = () => {
    clearTimeout(timer);
    if (disposed) return;
    const busy = [...firstPage, ...older].some((video) => !isFinished(video));
    timer = setTimeout(refresh, busy ? BUSY_POLL_MS : IDLE_POLL_MS);
  };

  function refresh(): void {
    if (disposed) return;
    loading ??= listVideos(null, PAGE)
      .then((page) => {
        firstPage = page.data;
        if (older.length === 0) cursor = page.nextCursor;
        render();
      })
      .catch((error: unknown) => {
        message.textContent = `The list could not be loaded: ${error instanceof ApiError ? error.message : String(error)}`;
      })
      .finally(() => {
        loading = null;
        schedule();
      });
  }

  more.addEventListener("click", async () => {
    if (!cursor) return;
    more.disabled = true;
    try {
      const page = await listVideos(cursor, PAGE);
      older = [...older, ...page.data];
      cursor = page.nextCursor;
      render();
    } catch (error) {
      message.textContent = `Older videos could not be loaded: ${error instanceof ApiError ? error.message : String(error)}`;
    } finally {
      more.disabled = false;
    }
  });

  refresh();
  return {
    element,
    refresh,
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}

function createRow(initial: Video, onDeleted: () => void): { element: HTMLElement; update(video: Video): void } {
  const title = videoTitle(initial);
  const href = `/watch/${encodeURIComponent(initial.id)}`;
  const poster = h("img", { class: "poster", alt: "", loading: "lazy", decoding: "async" });
  const posterBox = h("a", { class: "poster-box", href, "data-nav": true, tabindex: -1, "aria-hidden": "true" }, poster, h("span", { class: "duration" }));
  const badge = h("span", { class: "badge" });
  const line = h("p", { class: "video-status" });
  const bar = progressBar(`Processing of ${title}`);
  const reason = h("p", { class: "reason", role: "note" });
  const age = h("span", { class: "age" });
  const remove = h("button", { type: "button", class: "icon-button", "aria-label": `Delete ${title}`, title: "Delete" }, "✕");
  const element = h(
    "li",
    { class: "video-item", "data-video-id": initial.id },
    posterBox,
    h(
      "div",
      { class: "video-body" },
      h("div", { class: "video-heading" }, h("a", { class: "video-title", href, "data-nav": true, title }, title), remove),
      h("p", { class: "video-meta" }, badge, age),
      line,
      bar.element,
      reason,
    ),
  );
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete “${title}”? Its stream and images are removed for good.`)) return;
    remove.disabled = true;
    try {
      await deleteVideo(initial.id);
      element.remove();
      onDeleted();
    } catch (error) {
      remove.disabled = false;
      reason.textContent = `It could not be deleted: ${error instanceof ApiError ? error.message : String(error)}`;
    }
  });

  const update = (video: Video) => {
    element.dataset.status = video.status;
    badge.textContent = STATUS_WORDS[video.status];
    badge.className = `badge badge-${video.status}`;
    age.textContent = formatAge(video.createdAt, Date.now());
    age.title = new Date(video.createdAt).toLocaleString();
    const working = !isFinished(video);
    // The badge names the state already; the line says how far along it is.
    line.textContent = video.status === "processing" ? progressLine(video) : working ? statusLine(video) : "";
    line.hidden = !working || video.status === "uploading";
    bar.element.hidden = !working;
    if (working) bar.set(video.status === "uploading" ? null : shownPercent(video), statusLine(video));
    reason.hidden = video.status !== "failed";
    if (video.status === "failed") reason.textContent = asSentence(video.reason);
    const src = video.playback.poster;
    if (src && poster.getAttribute("src") !== src) poster.src = src;
    posterBox.classList.toggle("no-poster", !src);
    const duration = posterBox.querySelector(".duration")!;
    replace(duration as HTMLElement, video.duration ? formatClock(video.duration) : "");
  };
  update(initial);
  return { element, update };
}
