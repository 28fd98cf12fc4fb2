import { resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { DEFAULT_LADDER, RUNG_TABLE, type Rung } from "./media/ladder-table.ts";
import type { SourceLimits } from "./media/source-info.ts";

/**
 * Every setting vodpipe reads, validated once. Only entry files (CLI, worker, lambda) call
 * loadConfig(process.env); everything else receives the frozen result.
 * No variables at all gives the embedded mode under ./data.
 */
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
/** Plain decimal numbers only: `z.coerce.number()` alone would read " " as 0 and "0x4" as 4. */
const decimal = z.string().trim().regex(/^-?\d+(\.\d+)?$/, "not a number").transform(Number);
const int = (min: number, max: number) => decimal.pipe(z.number().int().min(min).max(max));
const positive = (max: number) => decimal.pipe(z.number().positive().max(max));
const between = (min: number, max: number) => decimal.pipe(z.number().min(min).max(max));
const httpUrl = z.url({ protocol: /^https?$/, error: "not an http(s):// URL" });

const X264_PRESETS = [
  "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
] as const;

/** The variables, their defaults and their rules. Names are the environment variable names. */
const envSchema = z.object({
  VODPIPE_DATA_DIR: z.string().min(1).default("./data"),
  VODPIPE_STORAGE: z.enum(["fs", "s3"]).default("fs"),
  VODPIPE_QUEUE: z.enum(["embedded", "sqs"]).default("embedded"),

  VODPIPE_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "not a valid S3 bucket name").optional(),
  VODPIPE_S3_ENDPOINT: httpUrl.optional(),
  VODPIPE_S3_FORCE_PATH_STYLE: bool.optional(),
  VODPIPE_SQS_ENDPOINT: httpUrl.optional(),
  VODPIPE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{0,40}$/, "letters, digits, '-' and '_' only (at most 40)").default("vodpipe-"),
  /** How long an S3 or SQS request may go without a byte before it is abandoned (and retried). */
  VODPIPE_AWS_TIMEOUT_SECONDS: int(2, 900).default(30),
  VODPIPE_AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "not an AWS region like eu-west-1").optional(),

  VODPIPE_VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200).default(120),
  /** Default: a quarter of the visibility timeout. */
  VODPIPE_HEARTBEAT_SECONDS: int(1, 43_200).optional(),
  VODPIPE_MAX_RECEIVE_COUNT: int(1, 1000).default(5),
  VODPIPE_WAIT_SECONDS: int(0, 20).default(20),
  VODPIPE_CONCURRENCY: int(1, 64).default(1),
  VODPIPE_TRANSCODE_CONCURRENCY: int(1, 64).default(2),

  /** 0: no job timeout. */
  VODPIPE_JOB_TIMEOUT_SECONDS: int(0, 172_800).default(21_600),
  VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS: int(1, 86_400).default(120),
  VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND: positive(10_000).default(20),
  VODPIPE_PROCESS_KILL_GRACE_SECONDS: int(0, 600).default(5),

  VODPIPE_FFMPEG_PATH: z.string().min(1).optional(),
  VODPIPE_FFPROBE_PATH: z.string().min(1).optional(),
  VODPIPE_FFMPEG_THREADS: int(0, 64).default(0),
  VODPIPE_TMP_DIR: z.string().min(1).optional(),
  VODPIPE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  VODPIPE_SEGMENT_SECONDS: between(2, 10).default(4),
  VODPIPE_CHUNK_SECONDS: between(2, 600).default(12),
  VODPIPE_X264_PRESET: z.enum(X264_PRESETS).default("veryfast"),
  VODPIPE_LADDER: z.string().regex(/^[0-9a-z]+(,[0-9a-z]+)*$/, "a comma-separated list of rung names").optional(),
  VODPIPE_MAX_FRAME_RATE: positive(240).default(60),
  /** 0: no lead rung; every rung comes from the chunks. */
  VODPIPE_LEAD_RUNG_MAX_SECONDS: int(0, 86_400).default(600),

  VODPIPE_MAX_DURATION_SECONDS: positive(86_400).default(4 * 3600),
  VODPIPE_MAX_FILE_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(20 * 1024 ** 3),
  VODPIPE_MAX_WIDTH: int(16, 16_384).default(8192),
  VODPIPE_MAX_HEIGHT: int(16, 16_384).default(8192),
  VODPIPE_MAX_STREAMS: int(1, 1000).default(32),
  // 8K UHD (7680x4320) in either orientation, with room for coded sizes padded to macroblocks.
  VODPIPE_MAX_PIXELS: int(256, 16_384 * 16_384).default(8192 * 4352),
  /** Unset: the longest allowed video at 240 frames per second. */
  VODPIPE_MAX_VIDEO_PACKETS: int(1, Number.MAX_SAFE_INTEGER).optional(),

  VODPIPE_API_KEY: z.string().min(16, "at least 16 characters").optional(),
  VODPIPE_PUBLIC_BASE_URL: httpUrl.optional(),
  VODPIPE_PLAYBACK_SIGNING_KEY: z.string().min(16, "at least 16 characters").optional(),
  VODPIPE_PLAYBACK_TOKEN_SECONDS: int(60, 7 * 24 * 3600).default(6 * 3600),
  VODPIPE_WEBHOOK_URL: httpUrl.optional(),
  VODPIPE_WEBHOOK_SECRET: z.string().min(16, "at least 16 characters").optional(),
  VODPIPE_WEBHOOK_EVENTS: z
    .string()
    .regex(
      /^video\.(ready|failed|progress)(,video\.(ready|failed|progress))*$/,
      "a comma-separated list of video.ready, video.failed and video.progress",
    )
    .default("video.ready,video.failed"),
});

/** Not a VODPIPE_ variable: the port is the convention every platform (Heroku, Cloud Run, Docker) sets. */
const portSchema = int(0, 65_535).default(8080);

export type ConfigVariable = keyof z.input<typeof envSchema>;

/** Every VODPIPE_ variable, for the docs (the README's table is checked against it). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as readonly ConfigVariable[];

export interface Config {
  dataDir: string;
  storage:
    | { kind: "fs"; root: string }
    | { kind: "s3"; bucket: string; endpoint?: string; region?: string; forcePathStyle: boolean; requestTimeoutSeconds: number };
  queue:
    | { kind: "embedded"; file: string; prefix: string }
    | { kind: "sqs"; endpoint?: string; region?: string; prefix: string; requestTimeoutSeconds: number };
  queueSettings: { visibilityTimeoutSeconds: number; maxReceiveCount: number; waitSeconds: number };
  worker: { heartbeatSeconds: number; concurrency: number; transcodeConcurrency: number; jobTimeoutSeconds?: number };
  ffmpeg: { ffmpegPath?: string; ffprobePath?: string; threads: number; tmpDir?: string };
  /** Child-process deadlines (shared/media/deadlines.ts) and the grace between SIGTERM and SIGKILL. */
  deadlines: { baseSeconds: number; perMediaSecond: number; killGraceSeconds: number };
  media: {
    segmentSeconds: number;
    chunkSeconds: number;
    x264Preset: (typeof X264_PRESETS)[number];
    ladder: readonly Rung[];
    maxFrameRate: number;
    /** Videos up to this long get their lowest rung encoded whole, first (0: never). */
    leadRungMaxSeconds: number;
  };
  limits: SourceLimits & {
    /** Packets of all video streams together that ingest will list before it gives up on a file. */
    maxVideoPackets: number;
  };
  logLevel: string;
  api: {
    port: number;
    /** Write routes need `Authorization: Bearer <key>` when set. */
    apiKey?: string;
    /** With S3: playback redirects here (a CDN or public bucket URL) instead of to presigned URLs. */
    publicBaseUrl?: string;
    /** Signed playback: every playlist, segment and image needs a token made with this key. */
    playbackSigningKey?: string;
    playbackTokenSeconds: number;
  };
  webhook?: { url: string; secret: string; events: readonly WebhookEventType[] };
}

/** `video.progress` is only sent when asked for: at most one per 10% of a video's progress. */
export type WebhookEventType = "video.ready" | "video.failed" | "video.progress";

/** Validates the environment and returns a frozen Config; throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const known = new Set(Object.keys(envSchema.shape));
  const given: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("VODPIPE_") || value === undefined) continue;
    if (!known.has(name)) {
      throw new ConfigError(`${name} is not a vodpipe setting (known: ${[...known].join(", ")})`, name);
    }
    if (value !== "") given[name] = value;
  }

  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const value = given[variable];
    throw new ConfigError(
      `${variable}${value === undefined ? "" : `=${JSON.stringify(value)}`}: ${issue.message}`,
      variable,
    );
  }
  const v = parsed.data;

  const contradiction = (variable: ConfigVariable, message: string): never => {
    throw new ConfigError(`${variable}: ${message}`, variable);
  };
  if (v.VODPIPE_STORAGE === "s3" && !v.VODPIPE_S3_BUCKET) {
    contradiction("VODPIPE_S3_BUCKET", "is required when VODPIPE_STORAGE=s3");
  }
  if (v.VODPIPE_STORAGE !== "s3") {
    for (const name of ["VODPIPE_S3_BUCKET", "VODPIPE_S3_ENDPOINT", "VODPIPE_S3_FORCE_PATH_STYLE"] as const) {
      if (v[name] !== undefined) contradiction(name, "is set but VODPIPE_STORAGE is not s3");
    }
  }
  if (v.VODPIPE_QUEUE !== "sqs" && v.VODPIPE_SQS_ENDPOINT !== undefined) {
    contradiction("VODPIPE_SQS_ENDPOINT", "is set but VODPIPE_QUEUE is not sqs");
  }
  if (v.VODPIPE_QUEUE === "sqs" && v.VODPIPE_AWS_TIMEOUT_SECONDS <= v.VODPIPE_WAIT_SECONDS) {
    contradiction(
      "VODPIPE_AWS_TIMEOUT_SECONDS",
      `(${v.VODPIPE_AWS_TIMEOUT_SECONDS}) must be longer than VODPIPE_WAIT_SECONDS (${v.VODPIPE_WAIT_SECONDS}): a long poll is one quiet request`,
    );
  }
  const heartbeatSeconds = v.VODPIPE_HEARTBEAT_SECONDS ?? Math.max(1, Math.floor(v.VODPIPE_VISIBILITY_TIMEOUT_SECONDS / 4));
  if (heartbeatSeconds >= v.VODPIPE_VISIBILITY_TIMEOUT_SECONDS) {
    contradiction(
      "VODPIPE_HEARTBEAT_SECONDS",
      `(${heartbeatSeconds}) must be shorter than VODPIPE_VISIBILITY_TIMEOUT_SECONDS (${v.VODPIPE_VISIBILITY_TIMEOUT_SECONDS})`,
    );
  }
  if (v.VODPIPE_JOB_TIMEOUT_SECONDS > 0 && v.VODPIPE_JOB_TIMEOUT_SECONDS < v.VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS) {
    contradiction(
      "VODPIPE_JOB_TIMEOUT_SECONDS",
      `(${v.VODPIPE_JOB_TIMEOUT_SECONDS}) must be at least VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS (${v.VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS}), or 0 for none`,
    );
  }
  if (v.VODPIPE_CHUNK_SECONDS < v.VODPIPE_SEGMENT_SECONDS) {
    contradiction(
      "VODPIPE_CHUNK_SECONDS",
      `(${v.VODPIPE_CHUNK_SECONDS}) must be at least VODPIPE_SEGMENT_SECONDS (${v.VODPIPE_SEGMENT_SECONDS})`,
    );
  }

  let ladder: readonly Rung[] = DEFAULT_LADDER;
  if (v.VODPIPE_LADDER) {
    const names = v.VODPIPE_LADDER.split(",");
    const unknown = names.filter((name) => !RUNG_TABLE.some((rung) => rung.name === name));
    if (unknown.length) {
      contradiction(
        "VODPIPE_LADDER",
        `unknown rung ${unknown.join(", ")} (known: ${RUNG_TABLE.map((r) => r.name).join(", ")})`,
      );
    }
    ladder = RUNG_TABLE.filter((rung) => names.includes(rung.name));
  }

  if ((v.VODPIPE_WEBHOOK_URL === undefined) !== (v.VODPIPE_WEBHOOK_SECRET === undefined)) {
    contradiction(
      v.VODPIPE_WEBHOOK_URL === undefined ? "VODPIPE_WEBHOOK_URL" : "VODPIPE_WEBHOOK_SECRET",
      "VODPIPE_WEBHOOK_URL and VODPIPE_WEBHOOK_SECRET go together (receivers verify every delivery's signature)",
    );
  }
  const port = portSchema.safeParse(env.PORT === "" ? undefined : env.PORT);
  if (!port.success) throw new ConfigError(`PORT=${JSON.stringify(env.PORT)}: a port number from 0 to 65535`, "PORT");

  const dataDir = resolve(v.VODPIPE_DATA_DIR);
  const region = v.VODPIPE_AWS_REGION;
  const config: Config = {
    dataDir,
    storage:
      v.VODPIPE_STORAGE === "s3"
        ? {
            kind: "s3",
            bucket: v.VODPIPE_S3_BUCKET!,
            endpoint: v.VODPIPE_S3_ENDPOINT,
            region,
            forcePathStyle: v.VODPIPE_S3_FORCE_PATH_STYLE ?? v.VODPIPE_S3_ENDPOINT !== undefined,
            requestTimeoutSeconds: v.VODPIPE_AWS_TIMEOUT_SECONDS,
          }
        : { kind: "fs", root: resolve(dataDir, "objects") },
    queue:
      v.VODPIPE_QUEUE === "sqs"
        ? { kind: "sqs", endpoint: v.VODPIPE_SQS_ENDPOINT, region, prefix: v.VODPIPE_QUEUE_PREFIX, requestTimeoutSeconds: v.VODPIPE_AWS_TIMEOUT_SECONDS }
        : { kind: "embedded", file: resolve(dataDir, "queues.sqlite"), prefix: v.VODPIPE_QUEUE_PREFIX },
    queueSettings: {
      visibilityTimeoutSeconds: v.VODPIPE_VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: v.VODPIPE_MAX_RECEIVE_COUNT,
      waitSeconds: v.VODPIPE_WAIT_SECONDS,
    },
    worker: {
      heartbeatSeconds,
      concurrency: v.VODPIPE_CONCURRENCY,
      transcodeConcurrency: v.VODPIPE_TRANSCODE_CONCURRENCY,
      ...(v.VODPIPE_JOB_TIMEOUT_SECONDS > 0 ? { jobTimeoutSeconds: v.VODPIPE_JOB_TIMEOUT_SECONDS } : {}),
    },
    deadlines: {
      baseSeconds: v.VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS,
      perMediaSecond: v.VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND,
      killGraceSeconds: v.VODPIPE_PROCESS_KILL_GRACE_SECONDS,
    },
    ffmpeg: {
      ffmpegPath: v.VODPIPE_FFMPEG_PATH,
      ffprobePath: v.VODPIPE_FFPROBE_PATH,
      threads: v.VODPIPE_FFMPEG_THREADS,
      tmpDir: v.VODPIPE_TMP_DIR,
    },
    media: {
      segmentSeconds: v.VODPIPE_SEGMENT_SECONDS,
      chunkSeconds: v.VODPIPE_CHUNK_SECONDS,
      x264Preset: v.VODPIPE_X264_PRESET,
      ladder,
      maxFrameRate: v.VODPIPE_MAX_FRAME_RATE,
      leadRungMaxSeconds: v.VODPIPE_LEAD_RUNG_MAX_SECONDS,
    },
    limits: {
      maxDurationSeconds: v.VODPIPE_MAX_DURATION_SECONDS,
      maxFileBytes: v.VODPIPE_MAX_FILE_BYTES,
      maxWidth: v.VODPIPE_MAX_WIDTH,
      maxHeight: v.VODPIPE_MAX_HEIGHT,
      maxStreams: v.VODPIPE_MAX_STREAMS,
      maxPixels: v.VODPIPE_MAX_PIXELS,
      maxVideoPackets: v.VODPIPE_MAX_VIDEO_PACKETS ?? Math.ceil(v.VODPIPE_MAX_DURATION_SECONDS * 240),
    },
    logLevel: v.VODPIPE_LOG_LEVEL,
    api: {
      port: port.data,
      apiKey: v.VODPIPE_API_KEY,
      publicBaseUrl: v.VODPIPE_PUBLIC_BASE_URL?.replace(/\/+$/, ""),
      playbackSigningKey: v.VODPIPE_PLAYBACK_SIGNING_KEY,
      playbackTokenSeconds: v.VODPIPE_PLAYBACK_TOKEN_SECONDS,
    },
    ...(v.VODPIPE_WEBHOOK_URL && v.VODPIPE_WEBHOOK_SECRET
      ? {
          webhook: {
            url: v.VODPIPE_WEBHOOK_URL,
            secret: v.VODPIPE_WEBHOOK_SECRET,
            events: [...new Set(v.VODPIPE_WEBHOOK_EVENTS.split(","))] as WebhookEventType[],
          },
        }
      : {}),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
