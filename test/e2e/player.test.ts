import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type Browser } from "../support/browser.ts";
import { mediaFile } from "../support/media.ts";
import { FAST_TEST_ENV } from "../support/pipeline-harness.ts";
import { leadRungAtRate, writeFfmpegWrapper, writeTestClip } from "../support/ffmpeg-wrapper.ts";
import { asSentence } from "../../player/src/status.ts";
import { startVodpipeServer, type VodpipeServer } from "../support/vodpipe-server.ts";

/** Screenshots for a person to look at (gitignored). */
const ARTIFACTS = resolve(fileURLToPath(new URL(".", import.meta.url)), "artifacts");
/** 4.1 s, 960×400, MPEG-4 Part 2 + MP3 in AVI: two rungs (360p, 240p) at the test ladder. */
const CLIP = mediaFile("androidx_sample.avi");
const CLIP_NAME = "androidx_sample.avi";
/** An HTML error page saved as .mp4: rejected with a reason. */
const BROKEN = mediaFile("broken_html_page.mp4");
/** Slow enough that the upload can be watched and paused, even on a busy machine (the clip is 335 kB: about 10 s). */
const UPLOAD_BYTES_PER_SECOND = 32 * 1024;

interface VideoJson {
  id: string;
  status: string;
  reason: string | null;
  playback: { hls: string | null; poster: string | null; storyboard: string | null };
}

let root: string;
let server: VodpipeServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
let readyVideoId = "";

const shoot = (target: Page, name: string) => target.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
const state = (target: Page) => target.evaluate(() => {
  const video = document.querySelector<HTMLVideoElement>(".player video");
  const debug = window.vodpipePlayer;
  return {
    time: video?.currentTime ?? -1,
    paused: video?.paused ?? true,
    muted: video?.muted ?? false,
    volume: video?.volume ?? -1,
    engine: debug?.engine,
    level: debug?.hls?.currentLevel ?? -2,
    fatal: (debug?.errors ?? []).filter((e) => e.fatal),
  };
});
/** Waits for playback to move `seconds` past where it is now. */
async function playsOn(target: Page, seconds: number): Promise<void> {
  const from = (await state(target)).time;
  await target.waitForFunction(
    ([start, by]) => {
      const video = document.querySelector<HTMLVideoElement>(".player video");
      return !!video && !video.paused && video.currentTime > start + by;
    },
    [from, seconds] as const,
    { timeout: 30_000 },
  );
}
async function getVideo(id: string): Promise<VideoJson> {
  const response = await fetch(`${server.url}/v1/videos/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as VideoJson;
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  root = await mkdtemp(join(tmpdir(), "vodpipe-e2e-"));
  await mkdir(join(root, "tmp"));
  // The lead rung (an MP4 cut into chunks gets one) reads its input at twice real time, so a video
  // stays playable-but-processing long enough to be watched that way on any machine. The AVI
  // clip of the other tests gets no lead rung, and every other ffmpeg runs as it is.
  const ffmpeg = join(root, "lead-at-2x-ffmpeg");
  await writeFfmpegWrapper(ffmpeg, [leadRungAtRate(2)]);
  server = await startVodpipeServer({ ...FAST_TEST_ENV, VODPIPE_DATA_DIR: join(root, "data"), VODPIPE_TMP_DIR: join(root, "tmp"), VODPIPE_FFMPEG_PATH: ffmpeg });
  browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  const code = await server?.stop();
  await rm(root, { recursive: true, force: true });
  expect(code).toBe(0);
  expect(pageErrors).toEqual([]);
}, 60_000);

// One story in order: the tests share the server, the page and the video the first one uploads.
describe("the player page in Chromium", () => {
  it("uploads a clip through the page with a live, pausable progress bar, follows it to ready, and plays it", async () => {
    await page.goto(server.url);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: UPLOAD_BYTES_PER_SECOND });

    const chooser = page.waitForEvent("filechooser");
    await page.getByRole("button", { name: "Choose video files to upload" }).click();
    await (await chooser).setFiles(CLIP);

    const card = page.locator(".upload-card").first();
    const detail = card.locator(".card-detail");
    const bar = card.getByRole("progressbar");
    // Bytes, speed and time left, as the upload goes.
    await expect.poll(() => detail.textContent(), { timeout: 20_000 }).toMatch(/^\d+(\.\d)? kB of 335 kB · \d+(\.\d)? kB\/s · \d+ s left$/);
    await shoot(page, "01-uploading");

    await card.getByRole("button", { name: `Pause upload of ${CLIP_NAME}` }).click();
    await expect.poll(() => card.getAttribute("data-state")).toBe("paused");
    const pausedAt = Number(await bar.getAttribute("aria-valuenow"));
    expect(pausedAt).toBeGreaterThan(0);
    expect(pausedAt).toBeLessThan(100);
    const videoId = (await card.getAttribute("data-video-id"))!;
    expect(videoId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((await getVideo(videoId)).status).toBe("uploading");

    // A second tab on the watch page: not a 404, but where the video stands.
    const watcher = await browser.context.newPage();
    watcher.on("pageerror", (error) => pageErrors.push(error.message));
    await watcher.goto(`${server.url}/watch/${videoId}`);
    await expect.poll(() => watcher.locator(".panel.processing .panel-title").textContent()).toBe("Still uploading");
    await shoot(watcher, "02-watch-while-uploading");

    await page.waitForTimeout(1000);
    expect(Number(await bar.getAttribute("aria-valuenow"))).toBe(pausedAt);
    await card.getByRole("button", { name: `Resume upload of ${CLIP_NAME}` }).click();
    await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 20_000 }).toBeGreaterThan(pausedAt);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    // Processing, then ready, on the card and in the list.
    await expect.poll(() => card.getAttribute("data-state"), { timeout: 120_000 }).toBe("ready");
    expect(await card.locator(".card-status").textContent()).toBe("Ready");
    await expect.poll(() => page.locator(`.video-item[data-video-id="${videoId}"]`).getAttribute("data-status"), { timeout: 10_000 }).toBe("ready");
    await shoot(page, "03-library-ready");
    readyVideoId = videoId;

    // The watching tab turned into a player on its own.
    await watcher.locator(".player video").waitFor({ timeout: 20_000 });
    await watcher.close();

    await card.getByRole("link", { name: `Watch ${CLIP_NAME}` }).click();
    await page.waitForURL(`**/watch/${videoId}`);
    const video = page.locator(".player video");
    await video.waitFor();
    expect(await video.getAttribute("poster")).toBe((await getVideo(videoId)).playback.poster);
    await page.waitForFunction(() => (window.vodpipePlayer?.hls?.levels.length ?? 0) > 0);
    await shoot(page, "04-watch-poster");

    await page.getByRole("button", { name: "Play" }).first().click();
    await playsOn(page, 1.5);
    const playing = await state(page);
    expect(playing.engine).toBe("hls.js");
    expect(playing.fatal).toEqual([]);
    expect(await page.locator(".error-overlay").isVisible()).toBe(false);
    await shoot(page, "05-playing");
  });

  it("switches quality from the menu and playback goes on at the chosen rung", async () => {
    const levels = await page.evaluate(() => window.vodpipePlayer!.hls!.levels.map((level) => level.height));
    expect([...levels].sort((a, b) => b - a)).toEqual([360, 240]);
    // Back to the start (Home), so the clip has room to play after the switch.
    await page.keyboard.press("Home");
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>(".player video")!.currentTime < 1);

    const menuButton = page.locator(".quality-button");
    expect(await menuButton.textContent()).toMatch(/^Auto \((360p|240p)\)$/);
    await menuButton.click();
    const items = page.getByRole("menuitemradio");
    expect(await items.allTextContents()).toEqual(["Auto", "360p", "240p"]);
    expect(await items.first().getAttribute("aria-checked")).toBe("true");
    await shoot(page, "06-quality-menu");

    const target = levels.indexOf(240);
    await page.getByRole("menuitemradio", { name: "240p" }).click();
    await expect.poll(() => page.locator(".player").getAttribute("data-level"), { timeout: 20_000 }).toBe(String(target));
    expect(await menuButton.textContent()).toBe("240p");
    await playsOn(page, 0.5);
    const after = await state(page);
    expect(after.level).toBe(target);
    expect(after.fatal).toEqual([]);
    // The rung's own segments were fetched.
    const fetched = await page.evaluate(() => performance.getEntriesByType("resource").map((entry) => entry.name));
    expect(fetched.some((url) => /\/240p\/seg-\d+\.ts/.test(url))).toBe(true);

    await menuButton.click();
    await page.getByRole("menuitemradio", { name: "Auto" }).click();
    await expect.poll(() => menuButton.textContent()).toMatch(/^Auto/);
  });

  it("keyboard: k and space play and pause, m mutes, arrows change the volume", async () => {
    // Nothing focused (space on a focused button presses that button), then Home: the clip is 4 s
    // and may have ended, which k would turn into a replay.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("Home");
    const wasPaused = (await state(page)).paused;
    await page.keyboard.press("k");
    await expect.poll(async () => (await state(page)).paused).toBe(!wasPaused);
    await page.keyboard.press(" ");
    await expect.poll(async () => (await state(page)).paused).toBe(wasPaused);
    await page.keyboard.press("m");
    expect((await state(page)).muted).toBe(true);
    await page.keyboard.press("m");
    expect((await state(page)).muted).toBe(false);
    await page.keyboard.press("ArrowDown");
    expect((await state(page)).volume).toBe(0.9);
  });

  it("shows the storyboard tile for the time under the pointer on the seek bar", async () => {
    const { playback } = await getVideo(readyVideoId);
    const vttUrl = new URL(playback.storyboard!, server.url).href;
    const vtt = await (await fetch(vttUrl)).text();
    const duration = await page.evaluate(() => document.querySelector<HTMLVideoElement>(".player video")!.duration);

    const seek = page.getByRole("slider", { name: "Seek" });
    const box = (await seek.boundingBox())!;
    const fraction = 0.6;
    await page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
    const preview = page.locator(".preview");
    await preview.waitFor({ state: "visible" });

    // The cue for that time, read here with its own small parser.
    const at = fraction * duration;
    const cue = [...vtt.matchAll(/(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(\S+?)#xywh=(\d+),(\d+),(\d+),(\d+)/g)]
      .map((m) => ({ start: +m[1]! * 3600 + +m[2]! * 60 + +m[3]!, end: +m[4]! * 3600 + +m[5]! * 60 + +m[6]!, sheet: m[7]!, x: m[8]!, y: m[9]!, w: m[10]!, h: m[11]! }))
      .find((c) => c.start <= at && at < c.end)!;
    expect(cue).toBeDefined();
    const style = await page.locator(".preview-image").evaluate((el) => ({ image: el.style.backgroundImage, position: el.style.backgroundPosition, width: el.style.width, height: el.style.height }));
    expect(style.image).toBe(`url("${new URL(cue.sheet, vttUrl).href}")`);
    expect(style.position).toBe(`${-Number(cue.x)}px ${-Number(cue.y)}px`);
    expect(style.width).toBe(`${cue.w}px`);
    expect(style.height).toBe(`${cue.h}px`);
    const sheetWidth = await page.evaluate(async (src) => {
      const image = new Image();
      image.src = src;
      await image.decode();
      return image.naturalWidth;
    }, new URL(cue.sheet, vttUrl).href);
    expect(sheetWidth).toBeGreaterThanOrEqual(Number(cue.x) + Number(cue.w));
    expect(await page.locator(".preview-time").textContent()).toBe(`0:0${Math.floor(at)}`);
    await shoot(page, "07-seek-preview");
  });

  it("takes a file dropped on the page, and shows why a broken one failed, on its card and in the list", async () => {
    await page.goto(server.url);
    // A drag from the desktop, as the browser delivers it: dragenter, dragover, drop with the file.
    const bytes = [...(await readFile(BROKEN))];
    const drag = await page.evaluateHandle((content) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(content)], "broken_html_page.mp4", { type: "video/mp4" }));
      return transfer;
    }, bytes);
    await page.dispatchEvent("main", "dragenter", { dataTransfer: drag });
    await page.dispatchEvent("main", "dragover", { dataTransfer: drag });
    expect(await page.locator(".drop-overlay").isVisible()).toBe(true);
    await shoot(page, "08-dragging");
    await page.dispatchEvent("main", "drop", { dataTransfer: drag });
    expect(await page.locator(".drop-overlay").isVisible()).toBe(false);
    const card = page.locator(".upload-card").first();
    await expect.poll(() => card.getAttribute("data-state"), { timeout: 60_000 }).toBe("failed");
    const id = (await card.getAttribute("data-video-id"))!;
    const { reason: apiReason } = await getVideo(id);
    expect(apiReason).toBeTruthy();
    // The API's sentence, with a capital letter and a full stop on the page.
    const reason = asSentence(apiReason);
    expect(reason.toLowerCase()).toContain(apiReason!.toLowerCase().replace(/[.]$/, ""));
    expect(await card.locator(".card-detail").textContent()).toBe(reason);
    const row = page.locator(`.video-item[data-video-id="${id}"]`);
    await expect.poll(() => row.locator(".reason").textContent(), { timeout: 10_000 }).toBe(reason);
    expect(await row.locator(".badge").textContent()).toBe("Failed");
    await shoot(page, "09-failed-upload");

    await page.goto(`${server.url}/watch/${id}`);
    await expect.poll(() => page.locator(".panel.failed .reason").textContent()).toBe(reason);
    await shoot(page, "10-watch-failed");
  });

  it("says in words why the stream did not load, and plays after Try again", async () => {
    // The server answers 404 for the master playlist until the viewer retries.
    await page.route("**/hls/master.m3u8", (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error":{"status":404,"message":"gone"}}' }));
    await page.goto(`${server.url}/watch/${readyVideoId}`);
    const overlay = page.getByRole("alert");
    await overlay.waitFor({ timeout: 20_000 });
    expect(await overlay.locator(".error-title").textContent()).toBe("The video is not there");
    expect(await overlay.locator(".error-message").textContent()).toBe("The video could not be found on the server (HTTP 404). It may have been deleted.");
    expect((await state(page)).fatal.map((e) => e.details)).toEqual(["manifestLoadError"]);
    await shoot(page, "11-error-overlay");

    await page.unroute("**/hls/master.m3u8");
    await page.getByRole("button", { name: "Try playing again" }).click();
    await playsOn(page, 0.5);
    expect(await page.locator(".error-overlay").isVisible()).toBe(false);
  });

  it("labels every control", async () => {
    await page.goto(`${server.url}/watch/${readyVideoId}`);
    await page.locator(".player video").waitFor();
    await page.waitForFunction(() => (window.vodpipePlayer?.hls?.levels.length ?? 0) > 0);
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>("button, input, a, [role=slider], [role=menuitemradio]"))
        .filter((el) => !el.hidden && el.getClientRects().length > 0)
        .filter((el) => !(el.getAttribute("aria-label") || el.textContent?.trim()))
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    expect(unlabelled).toEqual([]);
  });

  it("plays a video from its start while it is still processing, and on to its end once it is ready", async () => {
    const clip = join(root, "progressive.mp4");
    await writeTestClip(clip, { seconds: 24 });
    const upload = await fetch(`${server.url}/v1/videos?filename=progressive.mp4`, { method: "POST", body: await readFile(clip) });
    const { id } = (await upload.json()) as { id: string };
    await expect.poll(async () => ((await getVideo(id)) as VideoJson & { playable: boolean }).playable, { timeout: 60_000, interval: 100 }).toBe(true);
    // Opened once the growing playlist holds 10 s: a player that started at the live edge (about
    // three segments from its end) would begin at 4 s or later, not at 0.
    const published = async () => (await (await fetch(`${server.url}/v1/videos/${id}/hls/240p/index.m3u8`)).text()).match(/^#EXTINF/gm)?.length ?? 0;
    await expect.poll(published, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(5);
    expect((await getVideo(id)).status).toBe("processing");

    await page.goto(`${server.url}/watch/${id}`);
    await page.locator(".player video").waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => (window.vodpipePlayer?.hls?.levels.length ?? 0) > 0);
    await page.getByRole("button", { name: "Play" }).first().click();
    await playsOn(page, 1.5);
    // From the start, not at a live edge, while the playlist is still an EVENT one that grows.
    const early = await page.evaluate(() => {
      const hls = window.vodpipePlayer?.hls;
      const details = hls?.levels[hls.currentLevel >= 0 ? hls.currentLevel : 0]?.details;
      return { type: details?.type ?? null, live: details?.live ?? null, time: document.querySelector<HTMLVideoElement>(".player video")!.currentTime };
    });
    expect(early).toMatchObject({ type: "EVENT", live: true });
    expect(early.time).toBeLessThan(4);
    expect((await getVideo(id)).status).toBe("processing");
    await shoot(page, "16-playing-while-processing");

    // The lead rung runs at 2× real time: the viewer never waits for a segment, and plays on
    // through the switch to the final VOD playlists to the last seconds.
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>(".player video")?.currentTime ?? 0) > 22.5, undefined, { timeout: 60_000 });
    expect((await getVideo(id)).status).toBe("ready");
    expect((await state(page)).fatal).toEqual([]);
    await shoot(page, "17-played-to-the-end");
  });

  it("works on a phone: no sideways scrolling, 44 px touch targets, tap to play", async () => {
    const phone = await launchChromium({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const tab = phone.context.pages()[0] ?? (await phone.context.newPage());
      tab.on("pageerror", (error) => pageErrors.push(error.message));
      await tab.goto(server.url);
      await tab.locator(".video-item").first().waitFor();
      expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shoot(tab, "12-phone-library");

      await tab.goto(`${server.url}/watch/${readyVideoId}`);
      await tab.locator(".player video").waitFor();
      await tab.waitForFunction(() => (window.vodpipePlayer?.hls?.levels.length ?? 0) > 0);
      expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shoot(tab, "13-phone-watch");
      await tab.locator(".big-play").tap();
      await playsOn(tab, 0.5);
      for (const name of ["Pause", "Mute", /^Quality/]) {
        const control = tab.getByRole("button", { name }).first();
        const size = (await control.boundingBox())!;
        expect(size.width).toBeGreaterThanOrEqual(44);
        expect(size.height).toBeGreaterThanOrEqual(44);
      }
      expect((await state(tab)).fatal).toEqual([]);
      await shoot(tab, "14-phone-playing");
    } finally {
      await phone.close();
    }
  });
});

describe("the player page with an API key configured", () => {
  const KEY = "e2e-key-0123456789abcdef";
  let keyed: VodpipeServer;
  let keyRoot: string;
  let keyBrowser: Browser;

  beforeAll(async () => {
    keyRoot = await mkdtemp(join(tmpdir(), "vodpipe-e2e-key-"));
    await mkdir(join(keyRoot, "tmp"));
    keyed = await startVodpipeServer({ ...FAST_TEST_ENV, VODPIPE_API_KEY: KEY, VODPIPE_DATA_DIR: join(keyRoot, "data"), VODPIPE_TMP_DIR: join(keyRoot, "tmp") });
    keyBrowser = await launchChromium({ viewport: { width: 1280, height: 800 } });
  }, 120_000);

  afterAll(async () => {
    await keyBrowser?.close();
    const code = await keyed?.stop();
    await rm(keyRoot, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 60_000);

  it("asks for the key when an upload is refused, and uploads once it is entered", async () => {
    const tab = keyBrowser.context.pages()[0] ?? (await keyBrowser.context.newPage());
    tab.on("pageerror", (error) => pageErrors.push(error.message));
    await tab.goto(keyed.url);
    const chooser = tab.waitForEvent("filechooser");
    await tab.getByRole("button", { name: "Choose video files to upload" }).click();
    await (await chooser).setFiles(BROKEN);
    const card = tab.locator(".upload-card").first();
    await expect.poll(() => card.getAttribute("data-state"), { timeout: 20_000 }).toBe("error");
    expect(await card.locator(".card-detail").textContent()).toBe("This server needs an API key for this. Enter it under “API key”, then try again.");
    expect(await tab.locator(".key-settings").getAttribute("open")).not.toBeNull();
    await shoot(tab, "15-api-key-needed");

    await tab.getByLabel("API key", { exact: true }).fill(KEY);
    await tab.getByRole("button", { name: "Save" }).click();
    await card.getByRole("button", { name: "Retry upload of broken_html_page.mp4" }).click();
    // Accepted and processed: the broken file ends failed with its reason, not refused.
    await expect.poll(() => card.getAttribute("data-state"), { timeout: 60_000 }).toBe("failed");
  });
});
