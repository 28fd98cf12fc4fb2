import { constants, existsSync } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import {
  bundledBuildWarning,
  ffmpegVersion,
  locateBinary,
  type BinarySource,
  type FfmpegBinaries,
} from "../../shared/media/ffmpeg-binaries.ts";
import { checkFfmpegCapabilities, describeMissing, HDR_NEEDS, PIPELINE_NEEDS } from "../../shared/media/ffmpeg-capabilities.ts";

export interface DoctorIo {
  stdout: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

type Status = "ok" | "warn" | "FAIL";

interface Finding {
  status: Status;
  subject: string;
  detail: string;
}

/** How long an endpoint may take to answer before doctor calls it unreachable. */
const ENDPOINT_TIMEOUT_MS = 3000;

const WHY: Record<BinarySource, (name: string) => string> = {
  configured: (name) => `set by VODPIPE_${name.toUpperCase()}_PATH`,
  system: () => "first on PATH",
  bundled: (name) => `npm-bundled: no ${name} on PATH and VODPIPE_${name.toUpperCase()}_PATH unset`,
};

/**
 * `vodpipe doctor`: which ffmpeg and ffprobe this machine would use and why, their versions, what
 * the ffmpeg lacks, whether the data and temp folders are writable, and whether the configured
 * S3/SQS endpoints answer. Exit status 1 when something required is missing or broken.
 */
export async function runDoctorCommand(config: Readonly<Config>, io: DoctorIo): Promise<number> {
  const findings: Finding[] = [];
  const binaries = { source: {} } as FfmpegBinaries;
  for (const name of ["ffmpeg", "ffprobe"] as const) {
    findings.push(...checkBinary(name, config, io.env, binaries));
  }
  if (binaries.ffmpeg) findings.push(...(await checkCapabilities(binaries.ffmpeg)));

  const usesDataDir = config.storage.kind === "fs" || config.queue.kind === "embedded";
  findings.push(
    usesDataDir
      ? await checkWritable("data folder", config.dataDir)
      : { status: "ok", subject: "data folder", detail: "not used (S3 storage and SQS queues)" },
  );
  findings.push(await checkWritable("temp folder", config.ffmpeg.tmpDir ?? tmpdir()));

  const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? "us-east-1";
  if (config.storage.kind === "s3") {
    const { endpoint, bucket } = config.storage;
    findings.push(await checkEndpoint(`S3 (bucket ${bucket})`, endpoint ?? `https://s3.${config.storage.region ?? region}.amazonaws.com/`));
  }
  if (config.queue.kind === "sqs") {
    findings.push(await checkEndpoint("SQS", config.queue.endpoint ?? `https://sqs.${config.queue.region ?? region}.amazonaws.com/`));
  }

  const width = Math.max(...findings.map((finding) => finding.subject.length));
  for (const { status, subject, detail } of findings) {
    io.stdout.write(`${status.padEnd(4)}  ${subject.padEnd(width)}  ${detail}\n`);
  }
  const failures = findings.filter((finding) => finding.status === "FAIL").length;
  io.stdout.write(failures === 0 ? "vodpipe doctor: everything required is there\n" : `vodpipe doctor: ${failures} problem${failures === 1 ? "" : "s"}\n`);
  return failures === 0 ? 0 : 1;
}

function checkBinary(name: "ffmpeg" | "ffprobe", config: Readonly<Config>, env: Record<string, string | undefined>, binaries: FfmpegBinaries): Finding[] {
  let located;
  try {
    located = locateBinary(name, name === "ffmpeg" ? config.ffmpeg.ffmpegPath : config.ffmpeg.ffprobePath, { searchPath: env.PATH ?? "" });
  } catch (error) {
    return [{ status: "FAIL", subject: name, detail: errorMessage(error) }];
  }
  let version;
  try {
    version = ffmpegVersion(located.path);
  } catch (error) {
    return [{ status: "FAIL", subject: name, detail: `${located.path} (${WHY[located.source](name)}) does not run: ${errorMessage(error)}` }];
  }
  binaries[name] = located.path;
  binaries.source[name] = located.source;
  const findings: Finding[] = [{ status: "ok", subject: name, detail: `${located.path} (${WHY[located.source](name)}): ${version}` }];
  const warning = bundledBuildWarning(binaries, name, version);
  if (warning) findings.push({ status: "warn", subject: name, detail: warning });
  return findings;
}

async function checkCapabilities(ffmpeg: string): Promise<Finding[]> {
  const subject = "ffmpeg has";
  let report;
  try {
    report = await checkFfmpegCapabilities(ffmpeg);
  } catch (error) {
    return [{ status: "FAIL", subject, detail: errorMessage(error) }];
  }
  const needed = [...PIPELINE_NEEDS.encoders, ...PIPELINE_NEEDS.muxers, ...PIPELINE_NEEDS.filters].join(", ");
  const findings: Finding[] = [
    report.required.length === 0
      ? { status: "ok", subject, detail: `what every job needs (${needed})` }
      : { status: "FAIL", subject, detail: describeMissing(ffmpeg, report.required) },
  ];
  findings.push(
    report.hdr.length === 0
      ? { status: "ok", subject, detail: `HDR tone mapping (${HDR_NEEDS.filters.join(", ")})` }
      : { status: "warn", subject, detail: `HDR sources will fail: ${describeMissing(ffmpeg, report.hdr)}` },
  );
  return findings;
}

/** Writable as it stands, or (not made yet) creatable: the nearest existing folder above is writable. */
async function checkWritable(subject: string, folder: string): Promise<Finding> {
  const path = resolve(folder);
  if (existsSync(path)) {
    try {
      await rm(await mkdtemp(join(path, ".vodpipe-doctor-")), { recursive: true });
      return { status: "ok", subject, detail: `${path}: writable` };
    } catch (error) {
      return { status: "FAIL", subject, detail: `${path}: not writable (${errorMessage(error)})` };
    }
  }
  let existing = dirname(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    await access(existing, constants.W_OK);
    return { status: "ok", subject, detail: `${path}: not there yet; it will be made in ${existing} (writable)` };
  } catch (error) {
    return { status: "FAIL", subject, detail: `${path}: does not exist and ${existing} is not writable (${errorMessage(error)})` };
  }
}

/**
 * Any HTTP answer (403 included: doctor signs nothing) means the endpoint is there. node:http,
 * not fetch: fetch refuses some ports outright (the "bad ports" list) where the AWS SDK does not.
 */
function checkEndpoint(subject: string, url: string): Promise<Finding> {
  return new Promise((resolvePromise) => {
    const done = (status: Status, detail: string) => resolvePromise({ status, subject, detail: `${url} ${detail}` });
    let request;
    try {
      request = (url.startsWith("https:") ? httpsRequest : httpRequest)(url, { method: "GET", timeout: ENDPOINT_TIMEOUT_MS });
    } catch (error) {
      done("FAIL", `cannot be asked: ${errorMessage(error)}`);
      return;
    }
    request.on("response", (response) => {
      response.resume();
      done("ok", `answers (HTTP ${response.statusCode})`);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${ENDPOINT_TIMEOUT_MS / 1000} s`)));
    request.on("error", (error: NodeJS.ErrnoException) => done("FAIL", `does not answer: ${error.code ?? error.message}`));
    request.end();
  });
}
