import { describe, expect, it } from "vitest";
import { parseStoryboardVtt, parseVttTimestamp, tileAt } from "../../player/src/storyboard-vtt.ts";

const VTT_URL = "http://127.0.0.1:8080/v1/videos/v1/thumbnails/storyboard.vtt";

describe("storyboard VTT", () => {
  it("reads vodpipe's storyboard: one tile per cue, sheets relative to the VTT", () => {
    const text = [
      "WEBVTT",
      "",
      "00:00:00.000 --> 00:00:01.000",
      "storyboard-0.jpg#xywh=0,0,160,67",
      "",
      "00:00:01.000 --> 00:00:02.000",
      "storyboard-0.jpg#xywh=160,0,160,67",
      "",
      "00:00:02.000 --> 00:00:04.090",
      "storyboard-1.jpg#xywh=0,67,160,67",
      "",
    ].join("\n");
    expect(parseStoryboardVtt(text, VTT_URL)).toEqual([
      { start: 0, end: 1, url: "http://127.0.0.1:8080/v1/videos/v1/thumbnails/storyboard-0.jpg", x: 0, y: 0, width: 160, height: 67 },
      { start: 1, end: 2, url: "http://127.0.0.1:8080/v1/videos/v1/thumbnails/storyboard-0.jpg", x: 160, y: 0, width: 160, height: 67 },
      { start: 2, end: 4.09, url: "http://127.0.0.1:8080/v1/videos/v1/thumbnails/storyboard-1.jpg", x: 0, y: 67, width: 160, height: 67 },
    ]);
  });

  it("reads other writers' storyboards: cue ids, CRLF, short timestamps, absolute URLs, whole images", () => {
    const text = "WEBVTT\r\n\r\n1\r\n00:05.000 --> 00:10.000\r\nhttps://cdn.example/sprite.jpg#xywh=pixel:320,180,160,90\r\n\r\nNOTE a comment\r\n\r\n2\r\n01:00:10.000 --> 01:00:15.500\r\nthumb-2.jpg\r\n";
    expect(parseStoryboardVtt(text, VTT_URL)).toEqual([
      { start: 5, end: 10, url: "https://cdn.example/sprite.jpg", x: 320, y: 180, width: 160, height: 90 },
      { start: 3610, end: 3615.5, url: "http://127.0.0.1:8080/v1/videos/v1/thumbnails/thumb-2.jpg", x: 0, y: 0, width: 0, height: 0 },
    ]);
  });

  it("skips what is not a cue and returns nothing for an empty file", () => {
    expect(parseStoryboardVtt("WEBVTT\n\nnot a cue\n", VTT_URL)).toEqual([]);
    expect(parseStoryboardVtt("", VTT_URL)).toEqual([]);
  });

  it("parses timestamps with and without hours", () => {
    expect(parseVttTimestamp("01:02:03.456")).toBeCloseTo(3723.456, 6);
    expect(parseVttTimestamp("02:03.500")).toBe(123.5);
  });

  it("finds the tile on screen at a time", () => {
    const tiles = parseStoryboardVtt(
      "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\ns.jpg#xywh=0,0,10,10\n\n00:00:02.000 --> 00:00:04.000\ns.jpg#xywh=10,0,10,10\n\n00:00:04.000 --> 00:00:06.000\ns.jpg#xywh=20,0,10,10\n",
      VTT_URL,
    );
    expect(tileAt(tiles, 0)?.x).toBe(0);
    expect(tileAt(tiles, 1.99)?.x).toBe(0);
    expect(tileAt(tiles, 2)?.x).toBe(10);
    expect(tileAt(tiles, 5.5)?.x).toBe(20);
    expect(tileAt(tiles, 99)?.x).toBe(20);
    expect(tileAt(tiles, -1)?.x).toBe(0);
    expect(tileAt([], 3)).toBeNull();
  });
});
