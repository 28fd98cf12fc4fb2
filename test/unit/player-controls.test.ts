import { describe, expect, it } from "vitest";
import { errorMessageFrom } from "../../player/src/api.ts";
import { chooseEngine, isAppleWebKit } from "../../player/src/engine.ts";
import { describeMediaElementError, describePlayerError, respondTo } from "../../player/src/error-messages.ts";
import { actionForKey, keyBelongsToTarget } from "../../player/src/keyboard.ts";
import { qualityButtonLabel, qualityItems } from "../../player/src/quality.ts";

describe("hls.js errors as the viewer sees them", () => {
  it("leaves non-fatal errors to hls.js, recovers a fatal media error once, then shows it", () => {
    expect(respondTo({ type: "networkError", fatal: false }, 0)).toBe("ignore");
    expect(respondTo({ type: "mediaError", fatal: true }, 0)).toBe("recover-media");
    expect(respondTo({ type: "mediaError", fatal: true }, 1)).toBe("show");
    expect(respondTo({ type: "networkError", fatal: true }, 0)).toBe("show");
  });

  it("says what failed and whether a retry can help", () => {
    expect(describePlayerError({ type: "networkError", details: "manifestLoadError", fatal: true, status: 404 })).toEqual({
      title: "The video is not there",
      message: "The video could not be found on the server (HTTP 404). It may have been deleted.",
      retry: true,
    });
    expect(describePlayerError({ type: "networkError", details: "fragLoadError", fatal: true, status: 503 })).toEqual({
      title: "The server had a problem",
      message: "Part of the video could not be loaded because the server failed (HTTP 503). Try again in a moment.",
      retry: true,
    });
    expect(describePlayerError({ type: "networkError", details: "levelLoadError", fatal: true, status: 403 }).message).toBe(
      "The server refused to send the video (HTTP 403). The playback link may have expired: reload the page.",
    );
    expect(describePlayerError({ type: "networkError", details: "fragLoadTimeOut", fatal: true, status: 0 }).title).toBe("The server is not answering");
    expect(describePlayerError({ type: "networkError", details: "manifestLoadError", fatal: true, status: 0, online: false }).title).toBe("You are offline");
    expect(describePlayerError({ type: "mediaError", details: "manifestIncompatibleCodecsError", fatal: true })).toEqual({
      title: "This browser cannot play this video",
      message: "The video is H.264 with AAC audio, which this browser does not decode. Try another browser.",
      retry: false,
    });
    expect(describePlayerError({ type: "networkError", details: "manifestParsingError", fatal: true }).title).toBe("The stream could not be read");
    expect(describePlayerError({ type: "mediaError", details: "bufferAppendError", fatal: true }).title).toBe("The video could not be decoded");
    expect(describePlayerError({ type: "otherError", details: "internalException", fatal: true }).title).toBe("Playback stopped");
  });

  it("maps the browser's own MediaError codes for native HLS", () => {
    expect(describeMediaElementError(2).title).toBe("The video could not be loaded");
    expect(describeMediaElementError(2, false).title).toBe("You are offline");
    expect(describeMediaElementError(3).title).toBe("The video could not be decoded");
    expect(describeMediaElementError(4).title).toBe("This browser cannot play this video");
  });

  it("shows the API's error sentence, or one made from the status", () => {
    expect(errorMessageFrom(413, '{"error":{"status":413,"message":"The file is larger than 20 GiB."}}')).toBe("The file is larger than 20 GiB.");
    expect(errorMessageFrom(502, "<html>Bad gateway</html>")).toBe("The server failed (HTTP 502). Try again in a moment.");
    expect(errorMessageFrom(401, '{"error":{"status":401,"message":"This route needs an API key: send it as `Authorization: Bearer <VODPIPE_API_KEY>`."}}')).toBe(
      "This server needs an API key for this. Enter it under “API key”, then try again.",
    );
    expect(errorMessageFrom(0, "")).toBe("The server could not be reached. Check your connection and try again.");
  });
});

describe("keyboard shortcuts", () => {
  it("maps keys to player actions", () => {
    expect(actionForKey({ key: " " })).toEqual({ kind: "toggle-play" });
    expect(actionForKey({ key: "k" })).toEqual({ kind: "toggle-play" });
    expect(actionForKey({ key: "ArrowLeft" })).toEqual({ kind: "seek-by", seconds: -5 });
    expect(actionForKey({ key: "ArrowRight" })).toEqual({ kind: "seek-by", seconds: 5 });
    expect(actionForKey({ key: "ArrowUp" })).toEqual({ kind: "volume-by", delta: 0.1 });
    expect(actionForKey({ key: "ArrowDown" })).toEqual({ kind: "volume-by", delta: -0.1 });
    expect(actionForKey({ key: "f" })).toEqual({ kind: "toggle-fullscreen" });
    expect(actionForKey({ key: "M" })).toEqual({ kind: "toggle-mute" });
    expect(actionForKey({ key: "5" })).toEqual({ kind: "seek-to-fraction", fraction: 0.5 });
    expect(actionForKey({ key: "x" })).toBeNull();
    expect(actionForKey({ key: "f", ctrlKey: true })).toBeNull();
    expect(actionForKey({ key: "ArrowLeft", metaKey: true })).toBeNull();
  });

  it("leaves keys to focused fields, sliders and buttons", () => {
    expect(keyBelongsToTarget("k", { tagName: "INPUT", type: "text" })).toBe(true);
    expect(keyBelongsToTarget("ArrowLeft", { tagName: "INPUT", type: "range" })).toBe(true);
    expect(keyBelongsToTarget("k", { tagName: "INPUT", type: "range" })).toBe(false);
    expect(keyBelongsToTarget(" ", { tagName: "BUTTON" })).toBe(true);
    expect(keyBelongsToTarget("f", { tagName: "BUTTON" })).toBe(false);
    expect(keyBelongsToTarget(" ", { tagName: "DIV" })).toBe(false);
    expect(keyBelongsToTarget(" ", null)).toBe(false);
  });
});

describe("quality menu", () => {
  const levels = [
    { height: 240, width: 576, bitrate: 984_069 },
    { height: 360, width: 864, bitrate: 1_778_071 },
  ];

  it("lists Auto, then the rungs from the sharpest down", () => {
    expect(qualityItems(levels)).toEqual([
      { level: -1, label: "Auto" },
      { level: 1, label: "360p" },
      { level: 0, label: "240p" },
    ]);
    expect(qualityItems([{ height: 720, width: 1280, bitrate: 2_500_000 }, { height: 720, width: 1280, bitrate: 4_000_000 }]).map((i) => i.label)).toEqual([
      "Auto",
      "720p 4.0 Mb/s",
      "720p 2.5 Mb/s",
    ]);
  });

  it("shows the level playing under Auto, and the chosen rung otherwise", () => {
    expect(qualityButtonLabel(levels, true, 1)).toBe("Auto (360p)");
    expect(qualityButtonLabel(levels, true, -1)).toBe("Auto");
    expect(qualityButtonLabel(levels, false, 0)).toBe("240p");
  });
});

describe("playback engine", () => {
  const SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
  const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
  const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36";
  const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/130.0 Mobile/15E148 Safari/604.1";

  it("recognises Safari and iOS, not Chrome", () => {
    expect(isAppleWebKit(SAFARI)).toBe(true);
    expect(isAppleWebKit(IPHONE)).toBe(true);
    expect(isAppleWebKit(CHROME)).toBe(false);
    expect(isAppleWebKit(ANDROID)).toBe(false);
    expect(isAppleWebKit(SAFARI, 5, "MacIntel")).toBe(true);
  });

  it("uses Safari's own HLS there, hls.js elsewhere even when canPlayType says maybe", () => {
    expect(chooseEngine({ hlsJsSupported: true, nativeHls: true, appleWebKit: true })).toBe("native");
    expect(chooseEngine({ hlsJsSupported: false, nativeHls: true, appleWebKit: false })).toBe("native");
    expect(chooseEngine({ hlsJsSupported: true, nativeHls: true, appleWebKit: false })).toBe("hls.js");
    expect(chooseEngine({ hlsJsSupported: true, nativeHls: false, appleWebKit: false })).toBe("hls.js");
    expect(chooseEngine({ hlsJsSupported: false, nativeHls: false, appleWebKit: false })).toBe("none");
  });
});
