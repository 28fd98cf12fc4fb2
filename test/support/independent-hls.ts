import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Parser } from "m3u8-parser";

function parse(path: string) {
  const parser = new Parser();
  parser.push(readFileSync(path, "utf8"));
  parser.end();
  return parser.manifest;
}

export interface IndependentView {
  variants: Array<{ uri: string; bandwidth: number; averageBandwidth: number; codecs: string; width: number; height: number; frameRate: number }>;
  audioUri?: string;
  media: Record<string, { segments: Array<{ uri: string; duration: number }>; targetDuration: number; endList: boolean; playlistType?: string }>;
}

/** Reads a master playlist and its media playlists with videojs's m3u8-parser (not our own parser). */
export function readWithIndependentParser(masterPath: string): IndependentView {
  const master = parse(masterPath);
  const base = dirname(masterPath);
  const variants = (master.playlists ?? []).map((playlist) => {
    const a = playlist.attributes as { BANDWIDTH: number; "AVERAGE-BANDWIDTH"?: string | number; CODECS: string; RESOLUTION: { width: number; height: number }; "FRAME-RATE": number };
    return {
      uri: playlist.uri,
      bandwidth: a.BANDWIDTH,
      averageBandwidth: Number(a["AVERAGE-BANDWIDTH"]),
      codecs: a.CODECS,
      width: a.RESOLUTION.width,
      height: a.RESOLUTION.height,
      frameRate: a["FRAME-RATE"],
    };
  });
  const audioGroup = master.mediaGroups?.AUDIO ? Object.values(master.mediaGroups.AUDIO)[0] : undefined;
  const audioUri = audioGroup ? Object.values(audioGroup)[0]?.uri : undefined;
  const media: IndependentView["media"] = {};
  for (const uri of [...variants.map((v) => v.uri), ...(audioUri ? [audioUri] : [])]) {
    const playlist = parse(join(base, uri));
    media[uri] = {
      segments: playlist.segments.map((s) => ({ uri: s.uri, duration: s.duration })),
      targetDuration: playlist.targetDuration ?? 0,
      endList: playlist.endList === true,
      playlistType: playlist.playlistType,
    };
  }
  return { variants, audioUri, media };
}
