/** The page's entry: a two-view app (library at `/`, watch page at `/watch/{id}`) over history.pushState. */
import { apiKey, setApiKey } from "./api.ts";
import { h } from "./dom.ts";
import { createVideoList } from "./list.ts";
import { bindDrop, createUploader } from "./upload.ts";
import { createWatchView, type View } from "./watch.ts";

const root = document.getElementById("app")!;
let current: View | null = null;
let list: ReturnType<typeof createVideoList> | null = null;

// One uploader for the page's life: its uploads go on while the viewer watches something else.
const uploader = createUploader({
  onVideoChanged: () => list?.refresh(),
  onKeyNeeded: () => {
    const settings = document.querySelector<HTMLDetailsElement>(".key-settings");
    if (!settings) return;
    settings.open = true;
    settings.querySelector("input")?.focus();
  },
});

function libraryView(): View {
  list = createVideoList();
  const shown = list;
  document.title = "vodpipe";
  const element = h("div", { class: "library-view" }, h("h1", { class: "visually-hidden" }, "vodpipe videos"), uploader.dropZone, uploader.cards, shown.element, keySettings());
  return {
    element,
    dispose() {
      shown.dispose();
      if (list === shown) list = null;
    },
  };
}

/** Where a viewer enters the API key when the server asks for one (write routes with VODPIPE_API_KEY). */
function keySettings(): HTMLElement {
  const input = h("input", { type: "password", autocomplete: "off", value: apiKey() ?? "", "aria-label": "API key", placeholder: "Bearer key" });
  const save = h("button", { type: "button", class: "button" }, "Save");
  const saved = h("span", { role: "status", class: "hint" });
  save.addEventListener("click", () => {
    setApiKey(input.value.trim() || null);
    saved.textContent = input.value.trim() ? "Saved in this browser." : "Removed.";
  });
  return h(
    "details",
    { class: "key-settings" },
    h("summary", {}, "API key"),
    h("p", { class: "hint" }, "Only needed when the server is started with an API key. It stays in this browser."),
    h("p", { class: "key-row" }, input, save, saved),
  );
}

function route(): void {
  current?.dispose();
  const match = /^\/watch\/([^/]+)\/?$/.exec(location.pathname);
  current = match ? createWatchView(decodeURIComponent(match[1]!)) : libraryView();
  root.replaceChildren(current.element);
  document.body.dataset.view = match ? "watch" : "library";
}

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, "", path);
  route();
  window.scrollTo(0, 0);
  root.focus({ preventScroll: true });
}

document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest?.("a[data-nav]") as HTMLAnchorElement | null;
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.pathname);
});
window.addEventListener("popstate", route);
bindDrop((files) => {
  if (files.length === 0) return;
  uploader.addFiles(files);
  navigate("/");
});
route();
