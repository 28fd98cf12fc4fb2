/** Keyboard shortcuts of the watch page, as YouTube and most players have them. */

export type KeyAction =
  | { kind: "toggle-play" }
  | { kind: "seek-by"; seconds: number }
  | { kind: "seek-to-fraction"; fraction: number }
  | { kind: "volume-by"; delta: number }
  | { kind: "toggle-mute" }
  | { kind: "toggle-fullscreen" };

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** The action for a key press, or null to leave the key to the browser. Pure. */
export function actionForKey(input: KeyInput): KeyAction | null {
  // Ctrl/Cmd/Alt combinations belong to the browser and the system (Ctrl+F finds, Cmd+← goes back).
  if (input.ctrlKey || input.metaKey || input.altKey) return null;
  switch (input.key) {
    case " ":
    case "k":
    case "K":
      return { kind: "toggle-play" };
    case "ArrowLeft":
      return { kind: "seek-by", seconds: -5 };
    case "ArrowRight":
      return { kind: "seek-by", seconds: 5 };
    case "j":
    case "J":
      return { kind: "seek-by", seconds: -10 };
    case "l":
    case "L":
      return { kind: "seek-by", seconds: 10 };
    case "ArrowUp":
      return { kind: "volume-by", delta: 0.1 };
    case "ArrowDown":
      return { kind: "volume-by", delta: -0.1 };
    case "m":
    case "M":
      return { kind: "toggle-mute" };
    case "f":
    case "F":
      return { kind: "toggle-fullscreen" };
    case "Home":
      return { kind: "seek-to-fraction", fraction: 0 };
    case "End":
      return { kind: "seek-to-fraction", fraction: 1 };
    default:
      return /^[0-9]$/.test(input.key) ? { kind: "seek-to-fraction", fraction: Number(input.key) / 10 } : null;
  }
}

/** Whether the key event belongs to what has focus: typing in a field, or a slider/button's own keys. */
export function keyBelongsToTarget(key: string, target: { tagName: string; type?: string; isContentEditable?: boolean } | null): boolean {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    // A range slider takes the arrows, Home and End itself; a text field takes every key.
    if (target.type === "range") return key.startsWith("Arrow") || key === "Home" || key === "End" || key === "PageUp" || key === "PageDown";
    return target.type !== "checkbox" && target.type !== "radio" && target.type !== "button";
  }
  // Space and Enter press the focused button or menu item.
  if (tag === "BUTTON" || tag === "A") return key === " " || key === "Enter";
  return false;
}

export interface KeyTarget {
  togglePlay(): void;
  seekBy(seconds: number): void;
  seekToFraction(fraction: number): void;
  volumeBy(delta: number): void;
  toggleMute(): void;
  toggleFullscreen(): void;
}

/** Listens on `root` (the page while the watch view is open); returns the function that stops it. */
export function bindKeyboard(root: Document | HTMLElement, target: KeyTarget): () => void {
  const onKeyDown = (event: Event) => {
    const e = event as KeyboardEvent;
    if (e.defaultPrevented || keyBelongsToTarget(e.key, e.target as HTMLInputElement | null)) return;
    const action = actionForKey(e);
    if (!action) return;
    e.preventDefault();
    switch (action.kind) {
      case "toggle-play":
        return target.togglePlay();
      case "seek-by":
        return target.seekBy(action.seconds);
      case "seek-to-fraction":
        return target.seekToFraction(action.fraction);
      case "volume-by":
        return target.volumeBy(action.delta);
      case "toggle-mute":
        return target.toggleMute();
      case "toggle-fullscreen":
        return target.toggleFullscreen();
    }
  };
  root.addEventListener("keydown", onKeyDown);
  return () => root.removeEventListener("keydown", onKeyDown);
}
