import type { CoreFrame } from "./measure.ts";

/**
 * Both cores over a job, from the sampler's frames: which role (transcode, split, node, …) ran on
 * each core in each interval, what the rest of the machine took, and what stayed idle. Summed over
 * a window it says where a variant's wall time went; drawn as an SVG it shows the idle gaps.
 */

export interface CoreUse {
  /** CPU seconds per role on this core during the interval. */
  roles: Record<string, number>;
  /** Busy seconds of processes outside the variant's tree (the shared machine). */
  other: number;
  /** Seconds nobody ran. */
  idle: number;
}

export interface TimelineFrame {
  /** Seconds since the timeline's start, at the end of the interval. */
  t: number;
  seconds: number;
  cores: CoreUse[];
}

export function coreTimeline(frames: readonly CoreFrame[], roleOf: (pid: number) => string, startMs = frames[0]?.atMs ?? 0): TimelineFrame[] {
  return frames.slice(1).map((frame) => {
    const seconds = frame.intervalMs / 1000;
    const cores = frame.busy.map((busy, core) => {
      const roles: Record<string, number> = {};
      let ours = 0;
      for (const [pid, cpu] of Object.entries(frame.byPid[core] ?? {})) {
        const role = roleOf(Number(pid));
        roles[role] = (roles[role] ?? 0) + cpu;
        ours += cpu;
      }
      // /proc/stat and the threads' times tick separately: clamp so a frame never exceeds its interval.
      const busyClamped = Math.min(seconds, Math.max(busy, ours));
      return { roles, other: Math.max(0, busyClamped - ours), idle: Math.max(0, seconds - busyClamped) };
    });
    return { t: (frame.atMs - startMs) / 1000, seconds, cores };
  });
}

/** Core-seconds per role, others' load and idle over [from, to) seconds of the timeline. */
export function sumWindow(timeline: readonly TimelineFrame[], from = -Infinity, to = Infinity) {
  const roles: Record<string, number> = {};
  let other = 0;
  let idle = 0;
  for (const frame of timeline) {
    const mid = frame.t - frame.seconds / 2;
    if (mid < from || mid >= to) continue;
    for (const core of frame.cores) {
      for (const [role, cpu] of Object.entries(core.roles)) roles[role] = (roles[role] ?? 0) + cpu;
      other += core.other;
      idle += core.idle;
    }
  }
  const r = (v: number) => Math.round(v * 100) / 100;
  return { roles: Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, r(v)])), otherProcesses: r(other), idle: r(idle) };
}

const COLOURS: Record<string, string> = {
  "ffmpeg transcode": "#3b6fd1",
  "ffmpeg audio": "#2aa198",
  "ffmpeg split": "#e08a1e",
  ffprobe: "#9b59b6",
  "ffmpeg other (thumbnails, checks)": "#d6336c",
  "node (variant process)": "#6b8e23",
  "node (worker)": "#6b8e23",
  "other processes on the machine": "#c8c8c8",
};
const FALLBACK = ["#8d6e63", "#00897b", "#5e35b1", "#c0ca33"];

function colourOf(role: string, extra: Map<string, string>): string {
  if (COLOURS[role]) return COLOURS[role]!;
  if (!extra.has(role)) extra.set(role, FALLBACK[extra.size % FALLBACK.length]!);
  return extra.get(role)!;
}

export interface TimelinePanel {
  title: string;
  timeline: TimelineFrame[];
  /** Vertical lines at moments of the job (seconds on the timeline), e.g. playable, parts done. */
  marks?: Array<{ t: number; label: string }>;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * One panel per variant, one lane per core, all on the same time scale; in each interval a lane
 * is a stacked bar of what ran on that core (its height the share of the interval), grey for other
 * processes on the machine, white for idle.
 */
export function renderTimelineSvg(panels: readonly TimelinePanel[], caption: string): string {
  const laneHeight = 34;
  const laneGap = 6;
  const left = 70;
  const width = 1100;
  const duration = Math.max(1, ...panels.flatMap((p) => p.timeline.map((f) => f.t)));
  const x = (t: number) => left + (t / duration) * (width - left - 20);
  const extra = new Map<string, string>();
  const used = new Set<string>();
  const parts: string[] = [];
  let y = 40;
  for (const panel of panels) {
    const cores = panel.timeline[0]?.cores.length ?? 0;
    parts.push(`<text x="${left}" y="${y - 8}" font-size="13" font-weight="bold">${escape(panel.title)}</text>`);
    for (let core = 0; core < cores; core += 1) {
      const top = y + core * (laneHeight + laneGap);
      parts.push(`<rect x="${left}" y="${top}" width="${x(duration) - left}" height="${laneHeight}" fill="#fff" stroke="#999" stroke-width="0.5"/>`);
      parts.push(`<text x="${left - 6}" y="${top + laneHeight / 2 + 4}" font-size="11" text-anchor="end">core ${core}</text>`);
      for (const frame of panel.timeline) {
        const use = frame.cores[core];
        if (!use) continue;
        const x0 = x(frame.t - frame.seconds);
        const w = Math.max(0.3, x(frame.t) - x0);
        let bottom = top + laneHeight;
        const stack = [...Object.entries(use.roles).sort(([a], [b]) => a.localeCompare(b)), ["other processes on the machine", use.other] as [string, number]];
        for (const [role, cpu] of stack) {
          const h = (Math.min(cpu, frame.seconds) / frame.seconds) * laneHeight;
          if (h < 0.2) continue;
          used.add(role);
          bottom -= h;
          parts.push(`<rect x="${x0.toFixed(1)}" y="${bottom.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${colourOf(role, extra)}"/>`);
        }
      }
    }
    const laneBottom = y + cores * (laneHeight + laneGap);
    (panel.marks ?? []).forEach((mark, i) => {
      parts.push(`<line x1="${x(mark.t).toFixed(1)}" y1="${y - 2}" x2="${x(mark.t).toFixed(1)}" y2="${laneBottom - laneGap + 2}" stroke="#000" stroke-dasharray="3,2" stroke-width="1"/>`);
      // Marks close together (playable, parts done, ready) get their labels on separate rows.
      parts.push(`<text x="${(x(mark.t) + 2).toFixed(1)}" y="${laneBottom + 6 + (i % 3) * 11}" font-size="10">${escape(mark.label)}</text>`);
    });
    y = laneBottom + 56;
  }
  // Time axis
  const step = duration > 120 ? 20 : duration > 40 ? 10 : duration > 15 ? 5 : 1;
  for (let t = 0; t <= duration; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${y - 30}" x2="${x(t).toFixed(1)}" y2="${y - 24}" stroke="#333"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${y - 12}" font-size="10" text-anchor="middle">${t} s</text>`);
  }
  // Legend
  let lx = left;
  let legendY = y + 4;
  for (const role of [...used].sort()) {
    const itemWidth = 24 + role.length * 6.2;
    if (lx + itemWidth > width - 60) {
      lx = left;
      legendY += 18;
    }
    parts.push(`<rect x="${lx}" y="${legendY}" width="12" height="12" fill="${colourOf(role, extra)}"/>`);
    parts.push(`<text x="${lx + 16}" y="${legendY + 10}" font-size="11">${escape(role)}</text>`);
    lx += itemWidth;
  }
  parts.push(`<rect x="${lx}" y="${legendY}" width="12" height="12" fill="#fff" stroke="#999"/><text x="${lx + 16}" y="${legendY + 10}" font-size="11">idle</text>`);
  const height = legendY + 40;
  parts.push(`<text x="${left}" y="${height - 10}" font-size="10" fill="#555">${escape(caption)}</text>`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="#fafafa"/>\n${parts.join("\n")}\n</svg>\n`
  );
}
