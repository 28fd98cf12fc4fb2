/**
 * A small HLS playlist parser: enough of RFC 8216 for the conformance checker (master and media
 * playlists, attribute lists with quoted strings, EXTINF, EXT-X-BYTERANGE). It keeps what it does
 * not interpret in `attributes`, and rejects text that is not a playlist with the line number.
 */

export class PlaylistSyntaxError extends Error {
  override readonly name = "PlaylistSyntaxError";
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

export type Attributes = Record<string, string>;

export interface ParsedVariant {
  uri: string;
  attributes: Attributes;
  bandwidth?: number;
  averageBandwidth?: number;
  codecs?: string[];
  resolution?: { width: number; height: number };
  frameRate?: number;
  audio?: string;
}

export interface ParsedIFrameVariant {
  uri?: string;
  attributes: Attributes;
  bandwidth?: number;
  averageBandwidth?: number;
  codecs?: string[];
  resolution?: { width: number; height: number };
}

export interface ParsedRendition {
  type?: string;
  groupId?: string;
  name?: string;
  uri?: string;
  language?: string;
  default: boolean;
  channels?: string;
  attributes: Attributes;
}

export interface ParsedMasterPlaylist {
  kind: "master";
  version?: number;
  independentSegments: boolean;
  media: ParsedRendition[];
  variants: ParsedVariant[];
  iframeVariants: ParsedIFrameVariant[];
}

export interface ParsedSegment {
  uri: string;
  duration: number;
  title: string;
  byteRange?: { length: number; offset: number };
  discontinuity: boolean;
}

export interface ParsedMediaPlaylist {
  kind: "media";
  version?: number;
  targetDuration?: number;
  mediaSequence?: number;
  playlistType?: string;
  endList: boolean;
  independentSegments: boolean;
  iFramesOnly: boolean;
  /** EXT-X-MAP / EXT-X-KEY and other tags the checker does not interpret, by name. */
  otherTags: string[];
  segments: ParsedSegment[];
}

export type ParsedPlaylist = ParsedMasterPlaylist | ParsedMediaPlaylist;

const MASTER_TAGS = new Set(["EXT-X-STREAM-INF", "EXT-X-I-FRAME-STREAM-INF", "EXT-X-MEDIA", "EXT-X-SESSION-DATA", "EXT-X-SESSION-KEY"]);
const MEDIA_TAGS = new Set(["EXTINF", "EXT-X-TARGETDURATION", "EXT-X-ENDLIST", "EXT-X-PLAYLIST-TYPE", "EXT-X-MEDIA-SEQUENCE", "EXT-X-BYTERANGE"]);

interface Line {
  number: number;
  text: string;
}

interface Tag {
  name: string;
  value?: string;
}

export function parsePlaylist(text: string): ParsedPlaylist {
  const lines = playlistLines(text);
  const names = lines.filter((line) => line.text.startsWith("#EXT")).map((line) => parseTag(line.text).name);
  const master = names.some((name) => MASTER_TAGS.has(name));
  const media = names.some((name) => MEDIA_TAGS.has(name));
  if (master && media) throw new PlaylistSyntaxError("has both master and media playlist tags");
  if (master) return parseMaster(lines);
  if (media) return parseMedia(lines);
  throw new PlaylistSyntaxError("neither a master nor a media playlist (no variants, no segments)");
}

export function parseMasterPlaylist(text: string): ParsedMasterPlaylist {
  const playlist = parsePlaylist(text);
  if (playlist.kind !== "master") throw new PlaylistSyntaxError("expected a master playlist, found a media playlist");
  return playlist;
}

export function parseMediaPlaylist(text: string): ParsedMediaPlaylist {
  const playlist = parsePlaylist(text);
  if (playlist.kind !== "media") throw new PlaylistSyntaxError("expected a media playlist, found a master playlist");
  return playlist;
}

/** An attribute list: KEY=value pairs, values either "quoted strings" or unquoted tokens. */
export function parseAttributeList(text: string, lineNumber?: number): Attributes {
  const attributes: Attributes = {};
  let i = 0;
  while (i < text.length) {
    const equals = text.indexOf("=", i);
    if (equals < 0) throw new PlaylistSyntaxError(`attribute without a value: ${text.slice(i)}`, lineNumber);
    const key = text.slice(i, equals).trim();
    if (!/^[A-Z0-9-]+$/.test(key)) throw new PlaylistSyntaxError(`invalid attribute name ${JSON.stringify(key)}`, lineNumber);
    let value: string;
    i = equals + 1;
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) throw new PlaylistSyntaxError(`unterminated quoted string for ${key}`, lineNumber);
      value = text.slice(i + 1, close);
      i = close + 1;
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? text.length : comma;
      value = text.slice(i, end).trim();
      i = end;
    }
    if (key in attributes) throw new PlaylistSyntaxError(`attribute ${key} given twice`, lineNumber);
    attributes[key] = value;
    if (i < text.length) {
      if (text[i] !== ",") throw new PlaylistSyntaxError(`expected "," after ${key}`, lineNumber);
      i++;
    }
  }
  return attributes;
}

function playlistLines(text: string): Line[] {
  const lines = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((raw, index) => ({ number: index + 1, text: raw.trim() }));
  const first = lines.find((line) => line.text !== "");
  if (!first || first.text !== "#EXTM3U") throw new PlaylistSyntaxError("does not start with #EXTM3U", first?.number ?? 1);
  return lines.filter((line) => line.text !== "" && line !== first);
}

function parseTag(text: string): Tag {
  const colon = text.indexOf(":");
  return colon < 0 ? { name: text.slice(1) } : { name: text.slice(1, colon), value: text.slice(colon + 1) };
}

function parseMaster(lines: Line[]): ParsedMasterPlaylist {
  const playlist: ParsedMasterPlaylist = { kind: "master", independentSegments: false, media: [], variants: [], iframeVariants: [] };
  let pending: { attributes: Attributes; line: number } | undefined;
  for (const line of lines) {
    if (!line.text.startsWith("#")) {
      if (!pending) throw new PlaylistSyntaxError(`URI without #EXT-X-STREAM-INF: ${line.text}`, line.number);
      playlist.variants.push(variantFrom(line.text, pending.attributes, pending.line));
      pending = undefined;
      continue;
    }
    if (!line.text.startsWith("#EXT")) continue;
    if (pending) throw new PlaylistSyntaxError("#EXT-X-STREAM-INF is not followed by a URI", pending.line);
    const tag = parseTag(line.text);
    switch (tag.name) {
      case "EXT-X-VERSION":
        playlist.version = integer(tag.value, tag.name, line.number);
        break;
      case "EXT-X-INDEPENDENT-SEGMENTS":
        playlist.independentSegments = true;
        break;
      case "EXT-X-STREAM-INF":
        pending = { attributes: parseAttributeList(tag.value ?? "", line.number), line: line.number };
        break;
      case "EXT-X-I-FRAME-STREAM-INF": {
        const attributes = parseAttributeList(tag.value ?? "", line.number);
        playlist.iframeVariants.push({ uri: attributes.URI, attributes, ...commonVariantAttributes(attributes, line.number) });
        break;
      }
      case "EXT-X-MEDIA": {
        const attributes = parseAttributeList(tag.value ?? "", line.number);
        playlist.media.push({
          type: attributes.TYPE,
          groupId: attributes["GROUP-ID"],
          name: attributes.NAME,
          uri: attributes.URI,
          language: attributes.LANGUAGE,
          default: attributes.DEFAULT === "YES",
          channels: attributes.CHANNELS,
          attributes,
        });
        break;
      }
      default:
        break;
    }
  }
  if (pending) throw new PlaylistSyntaxError("#EXT-X-STREAM-INF is not followed by a URI", pending.line);
  return playlist;
}

function variantFrom(uri: string, attributes: Attributes, lineNumber: number): ParsedVariant {
  const frameRate = attributes["FRAME-RATE"];
  return {
    uri,
    attributes,
    ...commonVariantAttributes(attributes, lineNumber),
    ...(frameRate === undefined ? {} : { frameRate: decimal(frameRate, "FRAME-RATE", lineNumber) }),
    ...(attributes.AUDIO === undefined ? {} : { audio: attributes.AUDIO }),
  };
}

function commonVariantAttributes(attributes: Attributes, lineNumber: number) {
  const result: Pick<ParsedVariant, "bandwidth" | "averageBandwidth" | "codecs" | "resolution"> = {};
  if (attributes.BANDWIDTH !== undefined) result.bandwidth = integer(attributes.BANDWIDTH, "BANDWIDTH", lineNumber);
  if (attributes["AVERAGE-BANDWIDTH"] !== undefined) {
    result.averageBandwidth = integer(attributes["AVERAGE-BANDWIDTH"], "AVERAGE-BANDWIDTH", lineNumber);
  }
  if (attributes.CODECS !== undefined) result.codecs = attributes.CODECS.split(",").map((codec) => codec.trim());
  if (attributes.RESOLUTION !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(attributes.RESOLUTION);
    if (!match) throw new PlaylistSyntaxError(`invalid RESOLUTION ${attributes.RESOLUTION}`, lineNumber);
    result.resolution = { width: Number(match[1]), height: Number(match[2]) };
  }
  return result;
}

function parseMedia(lines: Line[]): ParsedMediaPlaylist {
  const playlist: ParsedMediaPlaylist = {
    kind: "media",
    endList: false,
    independentSegments: false,
    iFramesOnly: false,
    otherTags: [],
    segments: [],
  };
  let extinf: { duration: number; title: string; line: number } | undefined;
  let byteRange: ParsedSegment["byteRange"];
  let discontinuity = false;
  // Where the previous sub-range ended, per URI, for BYTERANGE without an offset.
  const rangeEnds = new Map<string, number>();
  let pendingRange: { length: number; offset?: number; line: number } | undefined;

  for (const line of lines) {
    if (!line.text.startsWith("#")) {
      if (!extinf) throw new PlaylistSyntaxError(`segment URI without #EXTINF: ${line.text}`, line.number);
      if (pendingRange) {
        const offset = pendingRange.offset ?? rangeEnds.get(line.text);
        if (offset === undefined) {
          throw new PlaylistSyntaxError("EXT-X-BYTERANGE without an offset must follow a range of the same URI", pendingRange.line);
        }
        byteRange = { length: pendingRange.length, offset };
        rangeEnds.set(line.text, offset + pendingRange.length);
      }
      playlist.segments.push({
        uri: line.text,
        duration: extinf.duration,
        title: extinf.title,
        ...(byteRange ? { byteRange } : {}),
        discontinuity,
      });
      extinf = undefined;
      byteRange = undefined;
      pendingRange = undefined;
      discontinuity = false;
      continue;
    }
    if (!line.text.startsWith("#EXT")) continue;
    const tag = parseTag(line.text);
    switch (tag.name) {
      case "EXT-X-VERSION":
        playlist.version = integer(tag.value, tag.name, line.number);
        break;
      case "EXT-X-TARGETDURATION":
        playlist.targetDuration = integer(tag.value, tag.name, line.number);
        break;
      case "EXT-X-MEDIA-SEQUENCE":
        playlist.mediaSequence = integer(tag.value, tag.name, line.number);
        break;
      case "EXT-X-PLAYLIST-TYPE":
        playlist.playlistType = tag.value;
        break;
      case "EXT-X-ENDLIST":
        playlist.endList = true;
        break;
      case "EXT-X-INDEPENDENT-SEGMENTS":
        playlist.independentSegments = true;
        break;
      case "EXT-X-I-FRAMES-ONLY":
        playlist.iFramesOnly = true;
        break;
      case "EXT-X-DISCONTINUITY":
        discontinuity = true;
        break;
      case "EXTINF": {
        if (extinf) throw new PlaylistSyntaxError("two #EXTINF tags without a URI between them", line.number);
        const value = tag.value ?? "";
        const comma = value.indexOf(",");
        const durationText = comma < 0 ? value : value.slice(0, comma);
        extinf = {
          duration: decimal(durationText, "EXTINF", line.number),
          title: comma < 0 ? "" : value.slice(comma + 1),
          line: line.number,
        };
        break;
      }
      case "EXT-X-BYTERANGE": {
        const match = /^(\d+)(?:@(\d+))?$/.exec(tag.value ?? "");
        if (!match) throw new PlaylistSyntaxError(`invalid EXT-X-BYTERANGE ${tag.value}`, line.number);
        pendingRange = {
          length: Number(match[1]),
          ...(match[2] === undefined ? {} : { offset: Number(match[2]) }),
          line: line.number,
        };
        break;
      }
      default:
        playlist.otherTags.push(tag.name);
        break;
    }
  }
  if (extinf) throw new PlaylistSyntaxError("#EXTINF is not followed by a URI", extinf.line);
  return playlist;
}

function integer(value: string | undefined, name: string, lineNumber: number): number {
  if (value === undefined || !/^\d+$/.test(value.trim())) {
    throw new PlaylistSyntaxError(`${name}: expected an integer, got ${JSON.stringify(value)}`, lineNumber);
  }
  return Number(value.trim());
}

function decimal(value: string | undefined, name: string, lineNumber: number): number {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) {
    throw new PlaylistSyntaxError(`${name}: expected a decimal number, got ${JSON.stringify(value)}`, lineNumber);
  }
  return Number(value.trim());
}
