import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { ConfigError } from "../../shared/errors.ts";

function rejection(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("with no variables: embedded storage and queue under ./data, and the defaults", () => {
    const data = join(process.cwd(), "data");
    expect(loadConfig({})).toEqual({
      dataDir: data,
      storage: { kind: "fs", root: join(data, "objects") },
      queue: { kind: "embedded", file: join(data, "queues.sqlite"), prefix: "vodpipe-" },
      queueSettings: { visibilityTimeoutSeconds: 120, maxReceiveCount: 5, waitSeconds: 20 },
      worker: { heartbeatSeconds: 30, concurrency: 1, transcodeConcurrency: 2, jobTimeoutSeconds: 21_600 },
      ffmpeg: { threads: 0 },
      deadlines: { baseSeconds: 120, perMediaSecond: 20, killGraceSeconds: 5 },
      media: {
        segmentSeconds: 4,
        chunkSeconds: 12,
        x264Preset: "veryfast",
        ladder: [
          { name: "1080p", shortSide: 1080, videoKbps: 5000, profile: "high" },
          { name: "720p", shortSide: 720, videoKbps: 2800, profile: "high" },
          { name: "480p", shortSide: 480, videoKbps: 1400, profile: "main" },
          { name: "360p", shortSide: 360, videoKbps: 800, profile: "main" },
        ],
        maxFrameRate: 60,
        leadRungMaxSeconds: 600,
      },
      limits: {
        maxDurationSeconds: 14_400,
        maxFileBytes: 21_474_836_480,
        maxWidth: 8192,
        maxHeight: 8192,
        maxStreams: 32,
        maxPixels: 35_651_584,
        maxVideoPackets: 3_456_000,
      },
      logLevel: "info",
      api: { port: 8080, playbackTokenSeconds: 21_600 },
    });
  });

  it("reads the API's port from PORT and its keys, and wants a webhook URL and secret together", () => {
    const config = loadConfig({ PORT: "0", VODPIPE_API_KEY: "k".repeat(16), VODPIPE_PUBLIC_BASE_URL: "https://cdn.example/", VODPIPE_WEBHOOK_URL: "http://127.0.0.1:9/hook", VODPIPE_WEBHOOK_SECRET: "s".repeat(16) });
    expect(config.api).toEqual({ port: 0, apiKey: "k".repeat(16), publicBaseUrl: "https://cdn.example", playbackTokenSeconds: 21_600 });
    expect(config.webhook).toEqual({ url: "http://127.0.0.1:9/hook", secret: "s".repeat(16), events: ["video.ready", "video.failed"] });
    expect(() => loadConfig({ PORT: "http" })).toThrow(/^PORT="http": a port number/);
    expect(() => loadConfig({ VODPIPE_API_KEY: "short" })).toThrow(/VODPIPE_API_KEY="short": at least 16 characters/);
    expect(() => loadConfig({ VODPIPE_WEBHOOK_URL: "http://127.0.0.1:9/hook" })).toThrow(/^VODPIPE_WEBHOOK_SECRET: VODPIPE_WEBHOOK_URL and VODPIPE_WEBHOOK_SECRET go together/);
    expect(() => loadConfig({ VODPIPE_WEBHOOK_URL: "http://x/", VODPIPE_WEBHOOK_SECRET: "s".repeat(16), VODPIPE_WEBHOOK_EVENTS: "video.done" })).toThrow(/VODPIPE_WEBHOOK_EVENTS/);
    const hook = { VODPIPE_WEBHOOK_URL: "http://x/", VODPIPE_WEBHOOK_SECRET: "s".repeat(16) };
    expect(loadConfig({ ...hook, VODPIPE_WEBHOOK_EVENTS: "video.ready,video.progress,video.ready" }).webhook?.events).toEqual(["video.ready", "video.progress"]);
    expect(() => loadConfig({ ...hook, VODPIPE_WEBHOOK_EVENTS: "video.ready,video.progres" })).toThrow(/video\.ready, video\.failed and video\.progress/);
  });

  it("ignores variables without the VODPIPE_ prefix and treats empty values as unset", () => {
    const config = loadConfig({ PATH: "/usr/bin", HOME: "/root", VODPIPE_CONCURRENCY: "", VODPIPE_STORAGE: "" });
    expect(config.worker.concurrency).toBe(1);
    expect(config.storage.kind).toBe("fs");
  });

  it("puts the embedded files under VODPIPE_DATA_DIR", () => {
    const config = loadConfig({ VODPIPE_DATA_DIR: "/srv/vodpipe" });
    expect(config.dataDir).toBe("/srv/vodpipe");
    expect(config.storage).toEqual({ kind: "fs", root: "/srv/vodpipe/objects" });
    expect(config.queue).toEqual({ kind: "embedded", file: "/srv/vodpipe/queues.sqlite", prefix: "vodpipe-" });
  });

  it("parses S3 and SQS on AWS", () => {
    const config = loadConfig({
      VODPIPE_STORAGE: "s3",
      VODPIPE_S3_BUCKET: "my-videos",
      VODPIPE_QUEUE: "sqs",
      VODPIPE_QUEUE_PREFIX: "prod-",
      VODPIPE_AWS_REGION: "eu-west-1",
    });
    expect(config.storage).toEqual({ kind: "s3", bucket: "my-videos", region: "eu-west-1", forcePathStyle: false, requestTimeoutSeconds: 30 });
    expect(config.queue).toEqual({ kind: "sqs", region: "eu-west-1", prefix: "prod-", requestTimeoutSeconds: 30 });
  });

  it("gives S3 and SQS requests a timeout longer than the long poll", () => {
    const aws = { VODPIPE_STORAGE: "s3", VODPIPE_S3_BUCKET: "my-videos", VODPIPE_QUEUE: "sqs" };
    expect(loadConfig({ ...aws, VODPIPE_AWS_TIMEOUT_SECONDS: "5", VODPIPE_WAIT_SECONDS: "2" }).queue).toMatchObject({ requestTimeoutSeconds: 5 });
    expect(() => loadConfig({ ...aws, VODPIPE_AWS_TIMEOUT_SECONDS: "10" })).toThrow(
      "VODPIPE_AWS_TIMEOUT_SECONDS: (10) must be longer than VODPIPE_WAIT_SECONDS (20): a long poll is one quiet request",
    );
  });

  it("uses path-style S3 with a custom endpoint unless told otherwise", () => {
    const local = {
      VODPIPE_STORAGE: "s3",
      VODPIPE_S3_BUCKET: "videos",
      VODPIPE_S3_ENDPOINT: "http://127.0.0.1:9000",
      VODPIPE_QUEUE: "sqs",
      VODPIPE_SQS_ENDPOINT: "http://127.0.0.1:4566",
    };
    const config = loadConfig(local);
    expect(config.storage).toEqual({ kind: "s3", bucket: "videos", endpoint: "http://127.0.0.1:9000", forcePathStyle: true, requestTimeoutSeconds: 30 });
    expect(config.queue).toEqual({ kind: "sqs", endpoint: "http://127.0.0.1:4566", prefix: "vodpipe-", requestTimeoutSeconds: 30 });
    expect(loadConfig({ ...local, VODPIPE_S3_FORCE_PATH_STYLE: "false" }).storage).toMatchObject({ forcePathStyle: false });
  });

  it("parses numbers, enums and the ladder (kept in table order, highest first)", () => {
    const config = loadConfig({
      VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "600",
      VODPIPE_HEARTBEAT_SECONDS: "60",
      VODPIPE_CONCURRENCY: "4",
      VODPIPE_SEGMENT_SECONDS: "6",
      VODPIPE_CHUNK_SECONDS: "30",
      VODPIPE_X264_PRESET: "medium",
      VODPIPE_LADDER: "360p,1080p",
      VODPIPE_MAX_FRAME_RATE: "29.97",
      VODPIPE_LOG_LEVEL: "debug",
    });
    expect(config.queueSettings.visibilityTimeoutSeconds).toBe(600);
    expect(config.worker).toEqual({ heartbeatSeconds: 60, concurrency: 4, transcodeConcurrency: 2, jobTimeoutSeconds: 21_600 });
    expect(config.media).toMatchObject({ segmentSeconds: 6, chunkSeconds: 30, x264Preset: "medium", maxFrameRate: 29.97 });
    expect(config.media.ladder.map((rung) => rung.name)).toEqual(["1080p", "360p"]);
    expect(config.logLevel).toBe("debug");
  });

  it("reads the child-process deadlines and the job timeout (0: none)", () => {
    const config = loadConfig({
      VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS: "3",
      VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND: "0.5",
      VODPIPE_PROCESS_KILL_GRACE_SECONDS: "0",
      VODPIPE_JOB_TIMEOUT_SECONDS: "0",
    });
    expect(config.deadlines).toEqual({ baseSeconds: 3, perMediaSecond: 0.5, killGraceSeconds: 0 });
    expect(config.worker.jobTimeoutSeconds).toBeUndefined();
  });

  it("returns a deeply frozen object", () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage)).toBe(true);
    expect(Object.isFrozen(config.media.ladder)).toBe(true);
    expect(Object.isFrozen(config.media.ladder[0])).toBe(true);
    expect(() => {
      (config as { logLevel: string }).logLevel = "trace";
    }).toThrow(TypeError);
    expect(() => {
      (config.worker as { concurrency: number }).concurrency = 9;
    }).toThrow(TypeError);
  });

  const S3 = { VODPIPE_STORAGE: "s3", VODPIPE_S3_BUCKET: "videos" };
  it.each<[string, Record<string, string>, string, string]>([
    ["an unknown VODPIPE_ variable", { VODPIPE_COLOUR: "blue" }, "VODPIPE_COLOUR", "VODPIPE_COLOUR is not a vodpipe setting (known: VODPIPE_DATA_DIR, "],
    ["an unknown VODPIPE_ variable, even empty", { VODPIPE_CONCURENCY: "" }, "VODPIPE_CONCURENCY", "VODPIPE_CONCURENCY is not a vodpipe setting"],
    ["a bad storage kind", { VODPIPE_STORAGE: "S3" }, "VODPIPE_STORAGE", 'VODPIPE_STORAGE="S3": Invalid option: expected one of "fs"|"s3"'],
    ["a bad queue kind", { VODPIPE_QUEUE: "rabbitmq" }, "VODPIPE_QUEUE", 'VODPIPE_QUEUE="rabbitmq": Invalid option: expected one of "embedded"|"sqs"'],
    ["a bad log level", { VODPIPE_LOG_LEVEL: "verbose" }, "VODPIPE_LOG_LEVEL", 'VODPIPE_LOG_LEVEL="verbose": Invalid option'],
    ["a bad x264 preset", { VODPIPE_X264_PRESET: "placebo" }, "VODPIPE_X264_PRESET", 'VODPIPE_X264_PRESET="placebo": Invalid option'],
    ["a bad boolean", { ...S3, VODPIPE_S3_FORCE_PATH_STYLE: "yes" }, "VODPIPE_S3_FORCE_PATH_STYLE", 'VODPIPE_S3_FORCE_PATH_STYLE="yes": Invalid option: expected one of "0"|"1"|"true"|"false"'],
    ["a non-number", { VODPIPE_CONCURRENCY: "four" }, "VODPIPE_CONCURRENCY", 'VODPIPE_CONCURRENCY="four": not a number'],
    ["a fraction where a whole number is needed", { VODPIPE_CONCURRENCY: "2.5" }, "VODPIPE_CONCURRENCY", 'VODPIPE_CONCURRENCY="2.5": Invalid input: expected int, received number'],
    ["a number below the range", { VODPIPE_CONCURRENCY: "0" }, "VODPIPE_CONCURRENCY", 'VODPIPE_CONCURRENCY="0": Too small: expected number to be >=1'],
    ["a number above the range", { VODPIPE_WAIT_SECONDS: "21" }, "VODPIPE_WAIT_SECONDS", 'VODPIPE_WAIT_SECONDS="21": Too big: expected number to be <=20'],
    ["a visibility timeout under 5 s", { VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "4", VODPIPE_HEARTBEAT_SECONDS: "1" }, "VODPIPE_VISIBILITY_TIMEOUT_SECONDS", 'VODPIPE_VISIBILITY_TIMEOUT_SECONDS="4": Too small: expected number to be >=5'],
    ["segments under 2 s", { VODPIPE_SEGMENT_SECONDS: "1" }, "VODPIPE_SEGMENT_SECONDS", 'VODPIPE_SEGMENT_SECONDS="1": Too small: expected number to be >=2'],
    ["segments over 10 s", { VODPIPE_SEGMENT_SECONDS: "11" }, "VODPIPE_SEGMENT_SECONDS", 'VODPIPE_SEGMENT_SECONDS="11": Too big: expected number to be <=10'],
    ["a negative frame rate", { VODPIPE_MAX_FRAME_RATE: "-30" }, "VODPIPE_MAX_FRAME_RATE", 'VODPIPE_MAX_FRAME_RATE="-30": Too small: expected number to be >0'],
    ["a file size past 2^53", { VODPIPE_MAX_FILE_BYTES: "9007199254740993" }, "VODPIPE_MAX_FILE_BYTES", 'VODPIPE_MAX_FILE_BYTES="9007199254740993": Too big'],
    ["s3 without a bucket", { VODPIPE_STORAGE: "s3" }, "VODPIPE_S3_BUCKET", "VODPIPE_S3_BUCKET: is required when VODPIPE_STORAGE=s3"],
    ["an invalid bucket name", { VODPIPE_STORAGE: "s3", VODPIPE_S3_BUCKET: "My_Videos" }, "VODPIPE_S3_BUCKET", 'VODPIPE_S3_BUCKET="My_Videos": not a valid S3 bucket name'],
    ["a bucket without s3", { VODPIPE_S3_BUCKET: "videos" }, "VODPIPE_S3_BUCKET", "VODPIPE_S3_BUCKET: is set but VODPIPE_STORAGE is not s3"],
    ["an S3 endpoint without s3", { VODPIPE_S3_ENDPOINT: "http://127.0.0.1:9000" }, "VODPIPE_S3_ENDPOINT", "VODPIPE_S3_ENDPOINT: is set but VODPIPE_STORAGE is not s3"],
    ["path style without s3", { VODPIPE_S3_FORCE_PATH_STYLE: "true" }, "VODPIPE_S3_FORCE_PATH_STYLE", "VODPIPE_S3_FORCE_PATH_STYLE: is set but VODPIPE_STORAGE is not s3"],
    ["an SQS endpoint without sqs", { VODPIPE_SQS_ENDPOINT: "http://127.0.0.1:4566" }, "VODPIPE_SQS_ENDPOINT", "VODPIPE_SQS_ENDPOINT: is set but VODPIPE_QUEUE is not sqs"],
    ["a bad S3 endpoint URL", { ...S3, VODPIPE_S3_ENDPOINT: "not a url" }, "VODPIPE_S3_ENDPOINT", 'VODPIPE_S3_ENDPOINT="not a url": not an http(s):// URL'],
    ["a bad SQS endpoint URL", { VODPIPE_QUEUE: "sqs", VODPIPE_SQS_ENDPOINT: "127.0.0.1 4566" }, "VODPIPE_SQS_ENDPOINT", 'VODPIPE_SQS_ENDPOINT="127.0.0.1 4566": not an http(s):// URL'],
    ["a bad region", { VODPIPE_AWS_REGION: "Europe" }, "VODPIPE_AWS_REGION", 'VODPIPE_AWS_REGION="Europe": not an AWS region like eu-west-1'],
    ["a bad queue prefix", { VODPIPE_QUEUE_PREFIX: "prod/" }, "VODPIPE_QUEUE_PREFIX", `VODPIPE_QUEUE_PREFIX="prod/": letters, digits, '-' and '_' only (at most 40)`],
    ["a heartbeat as long as the visibility timeout", { VODPIPE_HEARTBEAT_SECONDS: "60", VODPIPE_VISIBILITY_TIMEOUT_SECONDS: "60" }, "VODPIPE_HEARTBEAT_SECONDS", "VODPIPE_HEARTBEAT_SECONDS: (60) must be shorter than VODPIPE_VISIBILITY_TIMEOUT_SECONDS (60)"],
    ["chunks shorter than segments", { VODPIPE_SEGMENT_SECONDS: "6", VODPIPE_CHUNK_SECONDS: "4" }, "VODPIPE_CHUNK_SECONDS", "VODPIPE_CHUNK_SECONDS: (4) must be at least VODPIPE_SEGMENT_SECONDS (6)"],
    ["a job timeout shorter than a child process's base deadline", { VODPIPE_JOB_TIMEOUT_SECONDS: "60" }, "VODPIPE_JOB_TIMEOUT_SECONDS", "VODPIPE_JOB_TIMEOUT_SECONDS: (60) must be at least VODPIPE_PROCESS_TIMEOUT_BASE_SECONDS (120), or 0 for none"],
    ["a zero deadline factor", { VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND: "0" }, "VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND", 'VODPIPE_PROCESS_TIMEOUT_PER_MEDIA_SECOND="0": Too small'],
    ["an unknown ladder rung", { VODPIPE_LADDER: "720p,4k" }, "VODPIPE_LADDER", "VODPIPE_LADDER: unknown rung 4k (known: 1080p, 720p, 480p, 360p, 240p, 144p)"],
    ["a malformed ladder", { VODPIPE_LADDER: "720p, 480p" }, "VODPIPE_LADDER", 'VODPIPE_LADDER="720p, 480p": a comma-separated list of rung names'],
  ])("rejects %s, naming the variable", (_case, env, variable, messageStart) => {
    const error = rejection(env);
    expect(error.name).toBe("ConfigError");
    expect(error.variable).toBe(variable);
    expect(error.message.slice(0, messageStart.length)).toBe(messageStart);
  });

  it("rejects an S3 endpoint without http(s)://", () => {
    expect(rejection({ ...S3, VODPIPE_S3_ENDPOINT: "localhost:9000" }).variable).toBe("VODPIPE_S3_ENDPOINT");
  });

  it("rejects a blank number instead of reading it as 0", () => {
    expect(rejection({ VODPIPE_FFMPEG_THREADS: " " }).variable).toBe("VODPIPE_FFMPEG_THREADS");
  });
});
