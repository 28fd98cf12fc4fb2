/** Uploading: the file picker and drop target, and one card per file from bytes sent to ready. */
import * as tus from "tus-js-client";
import { authHeaders, deleteVideo, errorMessageFrom, followVideo, type Video } from "./api.ts";
import { h, icon, ICONS, progressBar, replace } from "./dom.ts";
import { formatBytes, formatClock, formatRate, formatRemaining, RateMeter, secondsLeft } from "./format.ts";
import { asSentence, shownPercent, statusLine } from "./status.ts";

/** What the picker offers: any video, plus containers phones and cameras do not label as video. */
const ACCEPT = "video/*,.mkv,.mov,.avi,.flv,.ts,.m2ts,.mts,.dv,.webm,.3gp,.wmv,.mpg,.mpeg";
/** PATCH size: small enough for proxies that cap request bodies, big enough to keep overhead low. */
const CHUNK_BYTES = 32 * 1024 * 1024;

/** "1.5 MB of 4.2 MB · 850 kB/s · 3 s left". Pure. */
export function uploadProgressText(sent: number, total: number, rate: number | null): string {
  const parts = [`${formatBytes(sent)} of ${formatBytes(total)}`];
  if (rate !== null && sent < total) {
    parts.push(formatRate(rate));
    const left = secondsLeft(total - sent, rate);
    if (left !== null) parts.push(`${formatRemaining(left)} left`);
  }
  return parts.join(" · ");
}

/** The tus upload URL ends in the upload id, which is the video id. */
export function videoIdFromUploadUrl(url: string): string | null {
  const last = new URL(url, "http://localhost/").pathname.split("/").filter(Boolean).pop();
  return last ? decodeURIComponent(last) : null;
}

export interface UploadHooks {
  /** A video appeared or changed state: the list should look again. */
  onVideoChanged(): void;
  /** The server refused an upload for want of an API key. */
  onKeyNeeded(): void;
}

export interface Uploader {
  /** The picker button and the drop target. */
  dropZone: HTMLElement;
  /** The upload cards; kept across views so uploads go on while the viewer watches something. */
  cards: HTMLElement;
  addFiles(files: Iterable<File>): void;
}

export function createUploader(hooks: UploadHooks): Uploader {
  const input = h("input", { type: "file", accept: ACCEPT, multiple: true, class: "visually-hidden", tabindex: -1, "aria-hidden": "true", "aria-label": "Video files to upload" });
  const choose = h("button", { type: "button", class: "button primary", "aria-label": "Choose video files to upload" }, icon(ICONS.upload), "Choose a video");
  const dropZone = h(
    "section",
    { class: "dropzone", "aria-label": "Upload videos" },
    h("p", { class: "dropzone-title" }, "Drop a video here to upload it"),
    h("p", {}, choose),
    h("p", { class: "hint" }, "Uploads resume after a dropped connection and can be paused."),
    input,
  );
  const cards = h("ul", { class: "upload-cards", "aria-label": "Uploads", "aria-live": "polite" });

  const addFiles = (files: Iterable<File>) => {
    for (const file of files) cards.prepend(createUploadCard(file, hooks));
  };
  // Leaving the page stops the uploads (they resume when the same file is picked again): ask first.
  window.addEventListener("beforeunload", (event) => {
    if (cards.querySelector('[data-state="uploading"]')) event.preventDefault();
  });
  choose.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    if (input.files) addFiles(Array.from(input.files));
    input.value = "";
  });
  return { dropZone, cards, addFiles };
}

/** Drag-and-drop anywhere on the page; `onFiles` gets what was dropped. Returns the unbinding function. */
export function bindDrop(onFiles: (files: File[]) => void): () => void {
  let depth = 0;
  const hasFiles = (event: DragEvent) => [...(event.dataTransfer?.types ?? [])].includes("Files");
  const onEnter = (event: DragEvent) => {
    if (!hasFiles(event)) return;
    depth += 1;
    document.body.classList.add("dragging");
  };
  const onOver = (event: DragEvent) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  };
  const onLeave = (event: DragEvent) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove("dragging");
  };
  const onDrop = (event: DragEvent) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    onFiles(Array.from(event.dataTransfer?.files ?? []));
  };
  const listeners = [
    ["dragenter", onEnter],
    ["dragover", onOver],
    ["dragleave", onLeave],
    ["drop", onDrop],
  ] as const;
  for (const [name, listener] of listeners) document.addEventListener(name, listener);
  return () => {
    for (const [name, listener] of listeners) document.removeEventListener(name, listener);
  };
}

function createUploadCard(file: File, hooks: UploadHooks): HTMLLIElement {
  const bar = progressBar(`Upload of ${file.name}`);
  const status = h("p", { class: "card-status" }, "Starting…");
  const detail = h("p", { class: "card-detail" });
  const thumb = h("div", { class: "card-thumb", "aria-hidden": "true" });
  const pause = h("button", { type: "button", class: "button", "aria-label": `Pause upload of ${file.name}` }, "Pause");
  const cancel = h("button", { type: "button", class: "button subtle", "aria-label": `Cancel upload of ${file.name}` }, "Cancel");
  const actions = h("div", { class: "card-actions" }, pause, cancel);
  const card = h(
    "li",
    { class: "card upload-card", "data-state": "uploading" },
    thumb,
    h("div", { class: "card-body" }, h("p", { class: "card-title" }, file.name), status, bar.element, detail, actions),
  );

  const meter = new RateMeter();
  let videoId: string | null = null;
  let paused = false;
  let stopFollowing: (() => void) | null = null;
  const setState = (state: string) => (card.dataset.state = state);

  const upload = new tus.Upload(file, {
    endpoint: new URL("/v1/uploads/", location.href).href,
    metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
    headers: authHeaders(),
    chunkSize: CHUNK_BYTES,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
    removeFingerprintOnSuccess: true,
    onUploadUrlAvailable() {
      videoId = upload.url ? videoIdFromUploadUrl(upload.url) : null;
      if (videoId) card.dataset.videoId = videoId;
      hooks.onVideoChanged();
    },
    onProgress(sent, total) {
      const rate = meter.sample(performance.now(), sent);
      status.textContent = paused ? "Paused" : "Uploading";
      const text = uploadProgressText(sent, total, paused ? null : rate);
      detail.textContent = text;
      bar.set(total > 0 ? (sent / total) * 100 : null, text);
    },
    onSuccess() {
      replace(actions);
      detail.textContent = `Uploaded ${formatBytes(file.size)}`;
      followProcessing();
    },
    onError(error) {
      const response = (error as tus.DetailedError).originalResponse;
      const code = response?.getStatus() ?? 0;
      const message = errorMessageFrom(code, response?.getBody() ?? "");
      if (code === 401) hooks.onKeyNeeded();
      setState("error");
      status.textContent = "Upload failed";
      detail.textContent = message;
      detail.setAttribute("role", "alert");
      pause.textContent = "Retry";
      pause.setAttribute("aria-label", `Retry upload of ${file.name}`);
      paused = true;
    },
  });

  const start = () => {
    paused = false;
    meter.reset();
    setState("uploading");
    detail.removeAttribute("role");
    pause.textContent = "Pause";
    pause.setAttribute("aria-label", `Pause upload of ${file.name}`);
    // The key may have been entered since the last attempt.
    upload.options.headers = authHeaders();
    upload.start();
  };
  pause.addEventListener("click", () => {
    if (paused) return start();
    paused = true;
    setState("paused");
    void upload.abort();
    status.textContent = "Paused";
    pause.textContent = "Resume";
    pause.setAttribute("aria-label", `Resume upload of ${file.name}`);
  });
  cancel.addEventListener("click", async () => {
    stopFollowing?.();
    await upload.abort(true).catch(() => {});
    if (videoId) await deleteVideo(videoId).catch(() => {});
    card.remove();
    hooks.onVideoChanged();
  });

  const followProcessing = () => {
    if (!videoId) return;
    const id = videoId;
    setState("queued");
    status.textContent = "Queued — waiting for a worker";
    bar.element.setAttribute("aria-label", `Processing of ${file.name}`);
    bar.set(0);
    hooks.onVideoChanged();
    stopFollowing = followVideo(id, {
      onVideo: (video) => showVideo(video),
      onError: (error) => (detail.textContent = error.message),
    });
  };

  const showVideo = (video: Video) => {
    const previous = card.dataset.state;
    setState(video.status);
    status.textContent = statusLine(video);
    bar.set(shownPercent(video), statusLine(video));
    if (video.status === "failed") {
      bar.element.hidden = true;
      detail.setAttribute("role", "alert");
      detail.textContent = asSentence(video.reason);
      replace(actions, dismissButton());
    } else if (video.status === "ready") {
      bar.element.hidden = true;
      detail.textContent = [formatBytes(file.size), video.duration ? formatClock(video.duration) : ""].filter(Boolean).join(" · ");
      const watch = h("a", { class: "button primary", href: `/watch/${encodeURIComponent(video.id)}`, "data-nav": true, "aria-label": `Watch ${file.name}` }, icon(ICONS.play), "Watch");
      replace(actions, watch, dismissButton());
    }
    if (video.playback.poster && !thumb.style.backgroundImage) thumb.style.backgroundImage = `url("${video.playback.poster}")`;
    if (previous !== video.status) hooks.onVideoChanged();
  };

  const dismissButton = () =>
    h("button", { type: "button", class: "button subtle", "aria-label": `Remove ${file.name} from the uploads`, onclick: () => card.remove() }, "Dismiss");

  // Resume where an earlier attempt at the same file (same name, size, type, date) left off.
  upload
    .findPreviousUploads()
    .then((previous) => {
      const latest = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
      if (latest) upload.resumeFromPreviousUpload(latest);
    })
    .catch(() => {})
    .finally(start);
  return card;
}
