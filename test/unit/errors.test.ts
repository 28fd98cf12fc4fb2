import { describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markFailed, readJob } from "../../shared/job.ts";
import { createFsObjectStore } from "../../shared/storage/fs-object-store.ts";
import { NoSuchBucket, S3ServiceException } from "@aws-sdk/client-s3";
import { QueueDoesNotExist } from "@aws-sdk/client-sqs";
import {
  ForeignMessageError,
  InfrastructureError,
  InvalidMediaError,
  InvalidMessageError,
  PermanentError,
  RetryableError,
  isInfrastructureFault,
  publicReason,
  sanitizeReason,
} from "../../shared/errors.ts";
import { awsFaultKind, classifyAwsError } from "../../shared/aws-errors.ts";
import { classifyToolFailure } from "../../shared/media/tool-failure.ts";
import { parseIngestBody, parseMessageOf } from "../../shared/messages.ts";
import { finalFailure } from "../../shared/consumer/types.ts";

// What ffmpeg 5.1 prints when it stream-copies an AVI with packed B-frames (a real upload).
const AVI_SPLIT_STDERR = [
  "[avi @ 0x55d0c5a1c2c0] Stream #0: not enough frames to estimate rate; consider increasing probesize",
  "[matroska @ 0x55d0c5a3a400] Can't write packet with unknown timestamp",
  "av_interleaved_write_frame(): Invalid argument",
  "Error writing trailer of /tmp/vodpipe-split-Xy12ab/chunk-0.mkv: Invalid argument",
].join("\n");
const COMMAND = "/usr/bin/ffmpeg -v error -protocol_whitelist file -i file:/tmp/vodpipe-split-Xy12ab/source -map 0:0 -c copy /tmp/vodpipe-split-Xy12ab/chunk-0.mkv";

describe("reasons people read", () => {
  it("never carry a command line or a temp path", () => {
    expect(sanitizeReason(`${COMMAND}\nexit code 1\n${AVI_SPLIT_STDERR}`)).toBe(
      "vodpipe could not finish processing this video because of an internal fault; the operator's logs have the details",
    );
    expect(sanitizeReason("could not open /tmp/vodpipe-ingest-Ab12/source.mp4: Permission denied")).toBe(
      "could not open (a file): Permission denied",
    );
    expect(sanitizeReason("the upload sources/abc/source.mp4 does not exist")).toBe("the upload sources/abc/source.mp4 does not exist");
    expect(sanitizeReason("the file's format is not an accepted video container (MP4, MOV, WebM/MKV, MPEG-TS…)")).toBe(
      "the file's format is not an accepted video container (MP4, MOV, WebM/MKV, MPEG-TS…)",
    );
    expect(sanitizeReason("x".repeat(1000))).toHaveLength(400);
  });

  it("are held to words where every job is marked failed, whoever passes the text", async () => {
    const root = await mkdtemp(join(tmpdir(), "vodpipe-reason-"));
    try {
      const store = createFsObjectStore({ root });
      await markFailed(store, "vid1", `${COMMAND}\nexit code 1\n${AVI_SPLIT_STDERR}`, { sourceKey: "sources/vid1/source.avi" });
      const job = await readJob(store, "vid1");
      expect(job?.status).toBe("failed");
      expect(job?.reason).not.toMatch(/ffmpeg|\/tmp|-c copy|\n/);
      expect(job?.reason).toMatch(/internal fault/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("come from the error's own words, else a sentence by kind, never from its message", () => {
    expect(publicReason(new PermanentError(`${COMMAND}\nexit code 1`, { reason: "the file is damaged" }))).toBe("the file is damaged");
    expect(publicReason(new InvalidMediaError("the upload is empty (0 bytes)"))).toBe("the upload is empty (0 bytes)");
    expect(publicReason(new PermanentError(`${COMMAND}\nexit code 1`))).toMatch(/^vodpipe could not finish processing this video because of an internal fault/);
    expect(publicReason(new InvalidMessageError("invalid message: videoId: Required"))).toMatch(/message about this video that it cannot read/);
    expect(publicReason(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }))).toMatch(/ran out of disk space/);
    expect(publicReason(new InfrastructureError("SlowDown (HTTP 503)"))).toMatch(/storage or queue service/);
  });
});

describe("the one rule for a failed ffmpeg or ffprobe", () => {
  const exit = (stderr: string, extra: { code?: number | null; signal?: NodeJS.Signals | null } = {}) =>
    classifyToolFailure({ tool: "ffmpeg", code: extra.code ?? 1, signal: extra.signal ?? null, stderr, task: "cutting the video into chunks" });

  it("blames the input only for what ffmpeg says about its input, in words", () => {
    expect(exit(AVI_SPLIT_STDERR)).toEqual({
      kind: "permanent",
      reason: "the video's packets carry no usable timestamps, so it could not be cut into chunks; re-save it with a current encoder (for example as MP4)",
    });
    expect(exit("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5633] moov atom not found\n/tmp/x/source.mp4: Invalid data found when processing input").reason).toMatch(
      /^the file is incomplete or not a video: its index \(moov atom\) is missing/,
    );
    expect(exit("[hls @ 0x55c4] Format not on whitelist 'mov,mp4'\n/tmp/x/source.mp4: Invalid argument").reason).toMatch(/not an accepted video container/);
    expect(exit("/tmp/x/source.mkv: Invalid data found when processing input").kind).toBe("permanent");
  });

  it("retries a crash, a kill and anything not traced to the file; a full disk is the machine's", () => {
    expect(exit("", { code: null, signal: "SIGSEGV" })).toEqual({
      kind: "retryable",
      reason: "ffmpeg stopped unexpectedly (SIGSEGV) while cutting the video into chunks; the logs have the details",
    });
    expect(exit("Conversion failed!").kind).toBe("retryable");
    expect(exit("[segment @ 0x55] Failed to open segment '/tmp/x/seg-00001.ts'\nav_interleaved_write_frame(): No space left on device")).toEqual({
      kind: "infrastructure",
      reason: "the processing server ran out of disk space while cutting the video into chunks; vodpipe retries once there is room",
    });
  });
});

describe("AWS errors are the deployment's, never the video's", () => {
  const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
  const cases: Array<[string, unknown, string]> = [
    ["throttling", new S3ServiceException({ name: "SlowDown", $fault: "server", ...meta(503) }), "throttling"],
    ["a 500", new S3ServiceException({ name: "InternalError", $fault: "server", ...meta(500) }), "server"],
    ["RequestTimeout", new S3ServiceException({ name: "RequestTimeout", $fault: "client", ...meta(400) }), "timeout"],
    ["ExpiredToken", new S3ServiceException({ name: "ExpiredToken", $fault: "client", ...meta(400) }), "credentials"],
    ["RequestTimeTooSkewed", new S3ServiceException({ name: "RequestTimeTooSkewed", $fault: "client", ...meta(403) }), "credentials"],
    ["AccessDenied", new S3ServiceException({ name: "AccessDenied", $fault: "client", ...meta(403) }), "permissions"],
    ["NoSuchBucket", new NoSuchBucket({ message: "The specified bucket does not exist", ...meta(404) }), "missing-resource"],
    ["a missing queue", new QueueDoesNotExist({ message: "The specified queue does not exist.", ...meta(400) }), "missing-resource"],
    ["a reset connection", Object.assign(new Error("socket hang up"), { code: "ECONNRESET", $metadata: {} }), "network"],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED", $metadata: {} }), "network"],
  ];
  for (const [what, error, kind] of cases) {
    it(`${what} is an InfrastructureError (${kind})`, () => {
      expect(awsFaultKind(error)).toBe(kind);
      const classified = classifyAwsError(error, "get s3://bucket/key");
      expect(classified).toBeInstanceOf(InfrastructureError);
      expect(isInfrastructureFault(classified)).toBe(true);
      expect(publicReason(classified)).not.toMatch(/s3:\/\/|bucket\/key/);
    });
  }
  it("keeps what the adapter already classified", () => {
    const permanent = new PermanentError("bad key");
    expect(classifyAwsError(permanent, "put")).toBe(permanent);
  });
});

describe("messages a rolling deploy can produce", () => {
  it("a newer version goes back to the queue, it is not invalid", () => {
    const body = JSON.stringify({ type: "split-source", version: 2, videoId: "abc", newField: true });
    expect(() => parseMessageOf(body, "split-source")).toThrow(ForeignMessageError);
    expect(() => parseIngestBody(JSON.stringify({ type: "source-uploaded", version: 3, videoId: "abc" }))).toThrow(ForeignMessageError);
  });

  it("another stage's message on this queue is retried, not a failed video", () => {
    const body = JSON.stringify({ type: "publish-video", version: 1, videoId: "abc" });
    let error: unknown;
    try {
      parseMessageOf(body, "split-source");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ForeignMessageError);
    expect(error).toBeInstanceOf(RetryableError);
    expect(isInfrastructureFault(error)).toBe(true);
    expect((error as ForeignMessageError).videoId).toBe("abc");
    expect(() => parseIngestBody(body)).toThrow(ForeignMessageError);
  });

  it("a message that is not one of ours at all is still invalid", () => {
    expect(() => parseMessageOf(JSON.stringify({ type: "split-source", version: 1 }), "split-source")).toThrow(InvalidMessageError);
    expect(() => parseMessageOf(JSON.stringify({ type: "split-source", version: 0, videoId: "abc" }), "split-source")).toThrow(InvalidMessageError);
  });
});

describe("the last receive the queue allows", () => {
  it("fails the video with words for a fault of the work, but leaves an infrastructure fault to the dead-letter queue", () => {
    const ffmpegFailed = new RetryableError(`${COMMAND}\nexit code 1`, { reason: "ffmpeg failed (exit code 1) while encoding the video" });
    const final = finalFailure(ffmpegFailed, 5, 5);
    expect(final).toBeInstanceOf(PermanentError);
    expect(publicReason(final)).toBe("gave up after all 5 attempts failed: ffmpeg failed (exit code 1) while encoding the video");
    expect(finalFailure(ffmpegFailed, 4, 5)).toBeUndefined();

    const throttled = classifyAwsError(new S3ServiceException({ name: "SlowDown", $fault: "server", $metadata: { httpStatusCode: 503 } }), "put");
    expect(finalFailure(throttled, 5, 5)).toBeUndefined();
    expect(finalFailure(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }), 5, 5)).toBeUndefined();
    expect(finalFailure(new ForeignMessageError("version 2"), 5, 5)).toBeUndefined();
  });
});
