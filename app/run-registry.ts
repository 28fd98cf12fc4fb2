import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../shared/config.ts";
import { markFailed, readJob } from "../shared/job.ts";
import type { Logger } from "../shared/logger.ts";
import type { ObjectStore } from "../shared/ports.ts";
import { createSqliteQueueStore } from "../shared/queue/sqlite-queue.ts";
import { onChildrenChanged, type TrackedChild } from "../shared/media/child-processes.ts";

/**
 * What a vodpipe process using a data folder leaves there while it runs: `runs/<id>.json` with
 * its pid (and start time, so a reused pid is not mistaken for it), the process groups of the
 * media tools it is running, its private temp folder, and for `vodpipe process` its private queue
 * prefix and its video. A later run cleans up after one that was killed (`kill -9`, a crash, a
 * power cut) from these records alone: nothing that this data folder did not record is touched.
 */
export interface RunRecord {
  id: string;
  pid: number;
  /** /proc/<pid>/stat's start time (clock ticks since boot), to tell a reused pid apart. */
  startTicks: number;
  command: string;
  /** Removed whole when the run is found dead. */
  tmpDir?: string;
  /** Embedded queues named with this prefix belong to this run alone. */
  queuePrefix?: string;
  /** The videos the run processes (`videoId`: runs recorded before a run could hold several). */
  videoIds?: string[];
  videoId?: string;
  children: TrackedChild[];
}

export interface Run {
  readonly record: Readonly<RunRecord>;
  update(fields: Partial<Pick<RunRecord, "videoIds">>): void;
  /** Removes the run file (the caller has removed its temp folder and queues). */
  end(): void;
}

export interface DeadRun {
  record: RunRecord;
  /** Process groups killed (recorded by the run and still running the recorded binary). */
  killed: number[];
}

const runsDir = (config: Readonly<Config>) => join(config.dataDir, "runs");

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** Starts recording this process as a run of `command`; its children are recorded as they start. */
export function registerRun(config: Readonly<Config>, fields: Omit<RunRecord, "pid" | "startTicks" | "children">): Run {
  const dir = runsDir(config);
  mkdirSync(dir, { recursive: true });
  const record: RunRecord = { ...fields, pid: process.pid, startTicks: startTicksOf(process.pid) ?? 0, children: [] };
  const file = join(dir, `${record.id}.json`);
  let ended = false;
  const write = () => {
    if (ended) return;
    // Written whole and renamed, so a reader never sees half a record.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(record));
    renameSync(partial, file);
  };
  const stopWatching = onChildrenChanged((children) => {
    record.children = children.map((child) => ({ ...child }));
    write();
  });
  return {
    record,
    update(changes) {
      Object.assign(record, changes);
      write();
    },
    end() {
      stopWatching();
      ended = true;
      rmSync(file, { force: true });
    },
  };
}

/**
 * Finds the runs recorded in this data folder whose process is gone, kills the media tools they
 * left running, and removes their temp folders and run files. Returns what it found, so the
 * caller can drop their queues and fail their videos. Runs still alive are left alone.
 */
export function reapDeadRuns(config: Readonly<Config>, logger: Logger): DeadRun[] {
  const dir = runsDir(config);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  // A run killed while it rewrote its record leaves the half-written copy, named by its pid.
  for (const name of entries) {
    const writer = Number(/\.(\d+)\.tmp$/.exec(name)?.[1]);
    if (writer && writer !== process.pid && !existsSync(`/proc/${writer}`)) rmSync(join(dir, name), { force: true });
  }
  const names = entries.filter((name) => name.endsWith(".json"));
  const dead: DeadRun[] = [];
  for (const name of names) {
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(join(dir, name), "utf8")) as RunRecord;
    } catch {
      continue; // being written, or not ours to read
    }
    if (record.pid === process.pid || isAlive(record)) continue;
    const killed: number[] = [];
    for (const child of record.children ?? []) {
      if (isRecordedGroupLeader(child)) {
        try {
          process.kill(-child.pid, "SIGKILL");
          killed.push(child.pid);
        } catch {
          // gone meanwhile
        }
      }
    }
    if (record.tmpDir) rmSync(record.tmpDir, { recursive: true, force: true });
    rmSync(join(dir, name), { force: true });
    logger.warn({ run: record.id, pid: record.pid, command: record.command, killed }, "cleaned up after a run that was killed");
    dead.push({ record, killed });
  }
  return dead;
}

/** The run's process still exists and is the same process (same start time). */
function isAlive(record: RunRecord): boolean {
  try {
    const stat = parseStat(readFileSync(`/proc/${record.pid}/stat`, "utf8"));
    return stat !== undefined && stat.startTicks === record.startTicks && stat.state !== "Z";
  } catch {
    return false;
  }
}

/**
 * Only a process that is still the leader of its own group and still runs the recorded binary is
 * killed: a pid reused by anything else (another user's ffmpeg included) fails one of the two.
 */
function isRecordedGroupLeader(child: TrackedChild): boolean {
  if (!Number.isInteger(child.pid) || child.pid <= 1) return false;
  try {
    // argv[1]: a script run through its interpreter (a wrapper set as VODPIPE_FFMPEG_PATH).
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
    const stat = parseStat(readFileSync(`/proc/${child.pid}/stat`, "utf8"));
    return (argv[0] === child.binary || argv[1] === child.binary) && stat?.pgid === child.pid && stat.state !== "Z";
  } catch {
    return false;
  }
}

function startTicksOf(pid: number): number | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"))?.startTicks;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function parseStat(text: string): { state: string; pgid: number; startTicks: number } | undefined {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ": state ppid pgrp … ; starttime is field 22 overall, index 19 here.
  const pgid = Number(fields[2]);
  const startTicks = Number(fields[19]);
  return Number.isFinite(pgid) && Number.isFinite(startTicks) ? { state: fields[0] ?? "", pgid, startTicks } : undefined;
}

/**
 * At the start of a run: cleans up after the runs of this data folder that were killed (see
 * reapDeadRuns), drops the private queues of dead `vodpipe process` runs, so their messages can
 * never be picked up, and marks their videos failed (interrupted) if they were still processing.
 */
export async function cleanUpDeadRuns(config: Readonly<Config>, store: ObjectStore, logger: Logger): Promise<DeadRun[]> {
  const dead = reapDeadRuns(config, logger);
  const prefixes = dead.map((run) => run.record.queuePrefix).filter((prefix): prefix is string => Boolean(prefix));
  if (prefixes.length && config.queue.kind === "embedded") {
    const queues = createSqliteQueueStore({ file: config.queue.file });
    try {
      for (const prefix of prefixes) queues.dropQueues(prefix);
    } finally {
      queues.close();
    }
  }
  for (const { record } of dead) {
    for (const videoId of [...(record.videoIds ?? []), ...(record.videoId ? [record.videoId] : [])]) {
      const job = await readJob(store, videoId);
      if (job?.status !== "processing") continue;
      await markFailed(store, videoId, "interrupted: the vodpipe run processing it was killed before it finished; nothing was published", job, undefined, "interrupted");
    }
  }
  return dead;
}

export interface OpenedRun {
  /** The config this run works with: its own temp folder, and with isolateQueues its own queues. */
  config: Readonly<Config>;
  run: Run;
  /** Removes the run's temp folder and its run file. */
  close(): void;
}

/**
 * Opens a run of `command` on this data folder: a temp folder of its own (so a later run can
 * remove exactly what it left), and with `isolateQueues` embedded queues of its own, named
 * `<VODPIPE_QUEUE_PREFIX>run-<id>-<stage>`, so two runs never take each other's messages and a new
 * run never picks up an old run's job. SQS queues are shared by design and are not isolated.
 */
export function openRun(config: Readonly<Config>, command: string, options: { isolateQueues: boolean }): OpenedRun {
  const id = newRunId();
  const base = config.ffmpeg.tmpDir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const tmpDir = mkdtempSync(join(base, `vodpipe-run-${id}-`));
  const isolated = options.isolateQueues && config.queue.kind === "embedded";
  const queue = isolated ? { ...config.queue, prefix: `${config.queue.prefix}run-${id}-` } : config.queue;
  const runConfig = Object.freeze({ ...config, queue, ffmpeg: Object.freeze({ ...config.ffmpeg, tmpDir }) }) as Readonly<Config>;
  const run = registerRun(config, { id, command, tmpDir, ...(isolated ? { queuePrefix: queue.prefix } : {}) });
  return {
    config: runConfig,
    run,
    close() {
      rmSync(tmpDir, { recursive: true, force: true });
      run.end();
    },
  };
}
