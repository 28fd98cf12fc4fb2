/** The overlay that replaces a dead player: what went wrong in words, and a retry when one can help. */
import { h } from "./dom.ts";
import type { ViewerError } from "./error-messages.ts";

export interface ErrorOverlay {
  element: HTMLElement;
  show(error: ViewerError): void;
  hide(): void;
  readonly visible: boolean;
}

export function createErrorOverlay(onRetry: () => void): ErrorOverlay {
  const title = h("p", { class: "error-title", id: `error-title-${Math.random().toString(36).slice(2)}` });
  const message = h("p", { class: "error-message" });
  const retry = h("button", { type: "button", class: "button primary", "aria-label": "Try playing again" }, "Try again");
  const element = h("div", { class: "error-overlay", role: "alert", "aria-labelledby": title.id, hidden: true }, h("div", { class: "error-box" }, title, message, retry));
  retry.addEventListener("click", () => onRetry());
  return {
    element,
    show(error) {
      title.textContent = error.title;
      message.textContent = error.message;
      retry.hidden = !error.retry;
      element.hidden = false;
      if (error.retry) retry.focus({ preventScroll: true });
    },
    hide() {
      element.hidden = true;
    },
    get visible() {
      return !element.hidden;
    },
  };
}
