import { h } from "./dom.ts";

/** The part of an hls.js Level the menu needs. */
export interface LevelInfo {
  height: number;
  width: number;
  bitrate: number;
}

export interface QualityItem {
  /** hls.js level index; -1 is Auto. */
  level: number;
  label: string;
}

/** "720p", or "720p 2.5 Mb/s" when two rungs share a height. */
export function levelLabel(levels: readonly LevelInfo[], index: number): string {
  const level = levels[index];
  if (!level) return "";
  const name = level.height > 0 ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kb/s`;
  const twins = levels.filter((other) => other.height === level.height).length;
  return twins > 1 && level.height > 0 ? `${name} ${(level.bitrate / 1e6).toFixed(1)} Mb/s` : name;
}

/** Auto first, then the rungs from the sharpest down, as every player's menu lists them. Pure. */
export function qualityItems(levels: readonly LevelInfo[]): QualityItem[] {
  const order = levels.map((_, index) => index).sort((a, b) => levels[b]!.height - levels[a]!.height || levels[b]!.bitrate - levels[a]!.bitrate);
  return [{ level: -1, label: "Auto" }, ...order.map((index) => ({ level: index, label: levelLabel(levels, index) }))];
}

/** What the quality button shows: "Auto (480p)" while adapting, else the chosen rung. Pure. */
export function qualityButtonLabel(levels: readonly LevelInfo[], autoEnabled: boolean, playingLevel: number): string {
  const playing = levelLabel(levels, playingLevel);
  if (autoEnabled) return playing ? `Auto (${playing})` : "Auto";
  return playing || "Auto";
}

export interface QualitySource {
  levels(): readonly LevelInfo[];
  autoEnabled(): boolean;
  /** The level playing now. */
  playingLevel(): number;
  /** The level the viewer picked: -1 for Auto. */
  chosenLevel(): number;
  choose(level: number): void;
}

/** The quality button and its menu (role=menu with radio items); `update()` after level events. */
export function createQualityMenu(source: QualitySource): { element: HTMLElement; update(): void; close(): void; destroy(): void } {
  const button = h("button", { type: "button", class: "ctl quality-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": "Quality" });
  const menu = h("div", { class: "menu", role: "menu", "aria-label": "Quality", hidden: true });
  const element = h("div", { class: "quality" }, button, menu);

  const close = () => {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
  };
  const open = () => {
    renderItems();
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    (menu.querySelector('[aria-checked="true"]') as HTMLElement | null)?.focus();
  };
  const renderItems = () => {
    const chosen = source.chosenLevel();
    menu.replaceChildren(
      ...qualityItems(source.levels()).map((item) =>
        h(
          "button",
          {
            type: "button",
            role: "menuitemradio",
            class: "menu-item",
            "aria-checked": String(item.level === chosen),
            "data-level": item.level,
            onclick: () => {
              source.choose(item.level);
              close();
              update();
              button.focus();
            },
          },
          item.label,
        ),
      ),
    );
  };
  const update = () => {
    const levels = source.levels();
    element.hidden = levels.length < 2;
    const label = qualityButtonLabel(levels, source.autoEnabled(), source.playingLevel());
    button.textContent = label;
    button.setAttribute("aria-label", `Quality: ${label}`);
    if (!menu.hidden) renderItems();
  };

  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  menu.addEventListener("keydown", (event) => {
    const items = Array.from(menu.querySelectorAll<HTMLElement>(".menu-item"));
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === "Escape") {
      close();
      button.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  });
  const onOutside = (event: Event) => {
    if (!element.contains(event.target as Node)) close();
  };
  document.addEventListener("pointerdown", onOutside);
  update();
  return { element, update, close, destroy: () => document.removeEventListener("pointerdown", onOutside) };
}
