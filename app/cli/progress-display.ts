/**
 * `vodpipe process`'s per-file progress on a terminal: one line per file (a bar, the percentage,
 * the stage and the time left), redrawn in place. When stdout is not a terminal (a log file, CI),
 * plain lines instead, one each time a file's stage changes, so the output stays readable.
 */
import { basename } from "node:path";

export interface FileProgress {
  /** 0-100. */
  percent: number;
  /** What runs now (`uploading`, `ingesting`, `encoding`…), or the end (`ready`, `failed`). */
  stage: string;
  etaSeconds: number | null;
}

export interface ProgressDisplay {
  update(index: number, progress: FileProgress): void;
  /** Draws the last state and stops redrawing. */
  close(): void;
}

export interface ProgressDisplayOptions {
  stream: NodeJS.WritableStream;
  /** Redraw in place (a terminal) or print plain lines. */
  interactive: boolean;
  labels: readonly string[];
  /** Terminal width; lines are cut to fit so a redraw never wraps. */
  columns?: number;
  /** Least time between two redraws on a terminal (default 100 ms). */
  redrawMilliseconds?: number;
}

const BAR_WIDTH = 24;
const LABEL_WIDTH = 28;

/** `1:05`, `12:00`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * What each file's line is called: its name without the folders, which a long path would
 * otherwise push out of the line, or the path as given where two files share a name.
 */
export function fileLabels(files: readonly string[]): string[] {
  const names = files.map((file) => basename(file));
  return names.map((name, i) => (names.indexOf(name) === names.lastIndexOf(name) ? name : files[i]!));
}

/** A label cut to `width` characters, keeping its end (the file name) with an ellipsis in front. */
export function fitLabel(label: string, width: number): string {
  const chars = [...label];
  if (chars.length <= width) return label.padEnd(width);
  return `…${chars.slice(chars.length - width + 1).join("")}`;
}

/** One file's line: `clip.mp4   [█████████░░░░░░░]  37.5%  encoding    0:42 left`. */
export function formatProgressLine(label: string, progress: FileProgress, labelWidth = LABEL_WIDTH): string {
  const percent = Math.min(100, Math.max(0, progress.percent));
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bar = `[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}]`;
  const eta = progress.etaSeconds === null ? "" : `${formatDuration(progress.etaSeconds)} left`;
  return `${fitLabel(label, labelWidth)} ${bar} ${percent.toFixed(1).padStart(5)}%  ${progress.stage.padEnd(10)} ${eta}`.trimEnd();
}

export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  const { stream, labels } = options;
  const labelWidth = Math.min(LABEL_WIDTH, Math.max(8, ...labels.map((label) => [...label].length)));
  const states: FileProgress[] = labels.map(() => ({ percent: 0, stage: "waiting", etaSeconds: null }));
  if (!options.interactive) {
    const printed = labels.map(() => "");
    return {
      update(index, progress) {
        states[index] = progress;
        if (printed[index] === progress.stage) return;
        printed[index] = progress.stage;
        stream.write(`${formatProgressLine(labels[index]!, progress, labelWidth)}\n`);
      },
      close() {},
    };
  }

  // A terminal that reports no size (a pty made by `script`, some CI runners) says 0 columns.
  const columns = options.columns && options.columns > 0 ? options.columns : 100;
  const redrawMs = options.redrawMilliseconds ?? 100;
  let drawn = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    // Back to the first line, then each line cleared and written again.
    let text = drawn ? `\x1b[${labels.length}A` : "";
    for (const [index, label] of labels.entries()) {
      text += `\r\x1b[2K${[...formatProgressLine(label, states[index]!, labelWidth)].slice(0, columns - 1).join("")}\n`;
    }
    drawn = true;
    stream.write(text);
  };
  return {
    update(index, progress) {
      if (closed) return;
      states[index] = progress;
      timer ??= setTimeout(draw, drawn ? redrawMs : 0);
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      draw();
    },
  };
}
