import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Measuring a process tree on Linux from /proc: exact CPU of the current process and of the
 * children it has waited for, and a sampler for the memory (and CPU) of a whole process tree.
 */

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of CPU times in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcStat {
  pid: number;
  /** The command name (comm), at most 15 characters. */
  name: string;
  ppid: number;
  /** Own CPU, seconds. */
  cpuSeconds: number;
  /** CPU of the children this process has waited for (and, recursively, theirs), seconds. */
  waitedChildrenCpuSeconds: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text: string, ticksPerSecond: number): ProcStat {
  const close = text.lastIndexOf(")");
  const pid = Number(text.slice(0, text.indexOf(" ")));
  // Fields after the name, numbered as in proc(5): 3 = state, 4 = ppid, 14-17 = utime stime cutime cstime.
  const fields = text.slice(close + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3] ?? 0);
  return {
    pid,
    name: text.slice(text.indexOf("(") + 1, close),
    ppid: field(4),
    cpuSeconds: (field(14) + field(15)) / ticksPerSecond,
    waitedChildrenCpuSeconds: (field(16) + field(17)) / ticksPerSecond,
  };
}

export interface CpuMark {
  /** This process (process.cpuUsage, µs precision). */
  selfSeconds: number;
  /** Exited children this process waited for, with all their waited-for descendants. */
  childrenSeconds: number;
}

/** A CPU reading of the current process; subtract two with cpuSince. */
export function markCpu(): CpuMark {
  const self = process.cpuUsage();
  const stat = parseProcStat(readFileSync("/proc/self/stat", "utf8"), clockTicksPerSecond());
  return { selfSeconds: (self.user + self.system) / 1e6, childrenSeconds: stat.waitedChildrenCpuSeconds };
}

export function cpuSince(start: CpuMark, end: CpuMark = markCpu()): CpuMark & { totalSeconds: number } {
  const selfSeconds = end.selfSeconds - start.selfSeconds;
  const childrenSeconds = end.childrenSeconds - start.childrenSeconds;
  return { selfSeconds, childrenSeconds, totalSeconds: selfSeconds + childrenSeconds };
}

/**
 * CPU seconds the whole machine has spent busy (every core, every process) since boot, from
 * /proc/stat. The difference over a run, minus the run's own CPU, is what other work took.
 */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond();
}

/** Every process seen in the tree during sampling. */
export interface SampledProcess {
  pid: number;
  ppid: number;
  /** argv, joined with spaces. */
  commandLine: string;
  /** The executable's base name (ffmpeg, ffprobe, node). */
  name: string;
  /** The kernel's name for it (/proc/<pid>/stat), which changes when it execs. */
  comm: string;
  /** Largest VmHWM read (the process's own peak resident set), bytes. */
  peakRssBytes: number;
  /** utime+stime at the last sample: a lower bound for processes that exited between samples. */
  cpuSeconds: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** What each core did over one sampling interval: CPU seconds per process of the tree, and the machine's busy seconds on it. */
export interface CoreFrame {
  /** Epoch ms at the end of the interval. */
  atMs: number;
  intervalMs: number;
  /** Per core: CPU seconds each process of the tree (by pid) ran on it, from its threads' times and last CPU. */
  byPid: Array<Record<number, number>>;
  /** Per core: seconds the core was busy with anything (/proc/stat), the tree included. */
  busy: number[];
}

export interface TreeReport {
  samples: number;
  intervalMs: number;
  processes: SampledProcess[];
  /** The process with the largest peak RSS. */
  largest: SampledProcess | undefined;
  /** The largest sum of VmRSS over the tree at one sample, bytes. */
  peakSumRssBytes: number;
  /** The same, per executable name (ffmpeg, node, …), each at its own peak sample. */
  peakSumRssBytesByName: Record<string, number>;
  /** Which process ran on which core, per interval (empty unless sampled with `cores: true`). */
  frames: CoreFrame[];
}

export interface TreeSampler {
  /** Takes a last sample, stops, and reports. */
  stop(): TreeReport;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

const STATUS_FIELDS = { VmHWM: /^VmHWM:\s+(\d+) kB/m, VmRSS: /^VmRSS:\s+(\d+) kB/m } as const;

function statusKilobytes(status: string, key: keyof typeof STATUS_FIELDS): number {
  const match = STATUS_FIELDS[key].exec(status);
  return match ? Number(match[1]) : 0;
}

/** A process's children, from each of its threads' `children` list (a child belongs to the thread that forked it). */
export function childrenOf(pid: number): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of threads) {
    for (const child of (readText(`/proc/${pid}/task/${tid}/children`) ?? "").split(" ")) {
      if (child.trim()) children.push(Number(child));
    }
  }
  return children;
}

/** Busy seconds per core since boot, from the cpuN lines of /proc/stat. */
export function coreBusySeconds(): number[] {
  const ticks = clockTicksPerSecond();
  return (readText("/proc/stat") ?? "")
    .split("\n")
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
      return (user + nice + system + irq + softirq + steal) / ticks;
    });
}

/** A thread's CPU seconds and the core it last ran on (field 39 of /proc/<pid>/task/<tid>/stat). */
function threadStat(text: string, ticks: number): { cpuSeconds: number; core: number } {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3] ?? 0);
  return { cpuSeconds: (field(14) + field(15)) / ticks, core: field(39) };
}

/** A process's command line and executable name, as /proc shows them now. */
function commandOf(pid: number): Pick<SampledProcess, "commandLine" | "name"> {
  const argv = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
  return { commandLine: argv.join(" "), name: (argv[0] ?? "?").split("/").pop() ?? "?" };
}

/**
 * Samples the tree under (and including) `rootPid` every `intervalMs`: finds descendants through
 * each process's /proc children lists, and reads each one's VmHWM, VmRSS and CPU times.
 * Synchronous reads keep a sample consistent. Only the tree is read, not all of /proc: the
 * sampler runs on the cores it measures, and scanning every process cost 4% of a core.
 */
export function startTreeSampler(rootPid: number, intervalMs = 100, options: { cores?: boolean } = {}): TreeSampler {
  const ticks = clockTicksPerSecond();
  const frames: CoreFrame[] = [];
  const threadCpu = new Map<string, number>();
  let lastBusy = coreBusySeconds();
  let lastAt = Date.now();
  /** Each thread's CPU since the last sample, put on the core it last ran on (a thread that moved mid-interval counts on its last core). */
  const sampleCores = (tree: readonly number[]) => {
    const busyNow = coreBusySeconds();
    const at = Date.now();
    const byPid: Array<Record<number, number>> = busyNow.map(() => ({}));
    for (const pid of tree) {
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        const text = readText(`/proc/${pid}/task/${tid}/stat`);
        if (!text) continue;
        const { cpuSeconds, core } = threadStat(text, ticks);
        const key = `${pid}/${tid}`;
        const delta = cpuSeconds - (threadCpu.get(key) ?? (frames.length ? 0 : cpuSeconds));
        threadCpu.set(key, cpuSeconds);
        const lane = byPid[core];
        if (delta > 0 && lane) lane[pid] = (lane[pid] ?? 0) + delta;
      }
    }
    frames.push({ atMs: at, intervalMs: at - lastAt, byPid, busy: busyNow.map((b, i) => Math.max(0, b - (lastBusy[i] ?? b))) });
    lastBusy = busyNow;
    lastAt = at;
  };
  const started = performance.now();
  const seen = new Map<number, SampledProcess>();
  const peakByName = new Map<string, number>();
  let peakSum = 0;
  let samples = 0;

  const sample = () => {
    const stats = new Map<number, ProcStat>();
    const tree: number[] = [];
    const pending = [rootPid];
    while (pending.length) {
      const pid = pending.pop()!;
      const text = readText(`/proc/${pid}/stat`);
      if (!text) continue; // exited (or never started)
      stats.set(pid, parseProcStat(text, ticks));
      tree.push(pid);
      pending.push(...childrenOf(pid));
    }
    let sum = 0;
    const sumByName = new Map<string, number>();
    const now = performance.now() - started;
    for (const pid of tree) {
      const status = readText(`/proc/${pid}/status`);
      if (!status) continue;
      const rss = statusKilobytes(status, "VmRSS") * 1024;
      const hwm = statusKilobytes(status, "VmHWM") * 1024;
      let record = seen.get(pid);
      // A child seen between its fork and its exec still shows its parent's command line (node):
      // once the kernel's name for it changes, it has exec'd, and its command line is read again.
      const comm = stats.get(pid)!.name;
      if (record && record.comm !== comm) Object.assign(record, commandOf(pid), { comm });
      if (!record) {
        record = {
          comm,
          pid,
          ppid: stats.get(pid)!.ppid,
          ...commandOf(pid),
          peakRssBytes: 0,
          cpuSeconds: 0,
          firstSeenMs: now,
          lastSeenMs: now,
        };
        seen.set(pid, record);
      }
      record.peakRssBytes = Math.max(record.peakRssBytes, hwm);
      record.cpuSeconds = stats.get(pid)!.cpuSeconds;
      record.lastSeenMs = now;
      sum += rss;
      sumByName.set(record.name, (sumByName.get(record.name) ?? 0) + rss);
    }
    if (options.cores) sampleCores(tree);
    peakSum = Math.max(peakSum, sum);
    for (const [name, bytes] of sumByName) peakByName.set(name, Math.max(peakByName.get(name) ?? 0, bytes));
    samples += 1;
  };

  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const processes = [...seen.values()].sort((a, b) => a.firstSeenMs - b.firstSeenMs);
      const largest = processes.reduce<SampledProcess | undefined>((best, p) => (!best || p.peakRssBytes > best.peakRssBytes ? p : best), undefined);
      return {
        samples,
        intervalMs,
        processes,
        largest,
        peakSumRssBytes: peakSum,
        peakSumRssBytesByName: Object.fromEntries(peakByName),
        frames,
      };
    },
  };
}

/** A figure for the results, to `places` decimals. */
export function round(value: number, places = 3): number {
  return Math.round(value * 10 ** places) / 10 ** places;
}
