import { maxKeyframeGap } from "../../shared/media/source-info.ts";
import { describe, expect, it } from "vitest";
import { InvalidMediaError, PermanentError } from "../../shared/errors.ts";
import { parsePacketCsv } from "../../shared/media/packet-listing.ts";
import { safeInputOptions, type RawProbe, type RawStream } from "../../shared/media/probe.ts";
import {
  assertUsableContainer,
  chooseAudioStream,
  chooseVideoStream,
  describeSource,
  displaySize,
  rotationOf,
  type SourceLimits,
} from "../../shared/media/source-info.ts";

const LIMITS: SourceLimits = { maxDurationSeconds: 14_400, maxFileBytes: 1_000_000_000, maxWidth: 8192, maxHeight: 8192, maxStreams: 32, maxPixels: 8192 * 4352 };

const DISPLAY_MATRIX_MINUS_90 = [{ side_data_type: "Display Matrix", rotation: -90 }];

// pixel-motion-photo-2-hevc-tracks.mp4 as ffprobe 5.1 reports it (trimmed).
const MOTION_PHOTO: RawStream[] = [
  {
    index: 0, codec_type: "video", codec_name: "hevc", width: 1024, height: 768, sample_aspect_ratio: "1:1", pix_fmt: "yuvj420p",
    r_frame_rate: "120/1", avg_frame_rate: "580000/21007", duration: "2.100700", nb_frames: "58",
    disposition: { default: 1, attached_pic: 0 }, side_data_list: DISPLAY_MATRIX_MINUS_90,
  },
  {
    index: 1, codec_type: "video", codec_name: "hevc", width: 2048, height: 1536, sample_aspect_ratio: "1:1", pix_fmt: "yuvj420p",
    r_frame_rate: "6000/2801", avg_frame_rate: "6000/2801", duration: "0.466833", nb_frames: "1",
    disposition: { default: 1, attached_pic: 0 }, side_data_list: DISPLAY_MATRIX_MINUS_90,
  },
  { index: 2, codec_type: "data", duration: "2.100700", nb_frames: "58", disposition: { default: 1, attached_pic: 0 } },
  { index: 3, codec_type: "data", duration: "2.100700", nb_frames: "1", disposition: { default: 1, attached_pic: 0 } },
];

// bear-id3.mp3: MP3 audio plus an ID3 cover picture that ffprobe lists as a video stream.
const MP3_WITH_COVER: RawStream[] = [
  { index: 0, codec_type: "audio", codec_name: "mp3", channels: 2, sample_rate: "48000", disposition: { default: 0, attached_pic: 0 } },
  {
    index: 1, codec_type: "video", codec_name: "mjpeg", width: 1400, height: 1400, sample_aspect_ratio: "1:1",
    r_frame_rate: "90000/1", avg_frame_rate: "0/0", disposition: { default: 0, attached_pic: 1 },
  },
];

function rejection(probe: RawProbe, sizeBytes = 1000, limits = LIMITS): string {
  try {
    assertUsableContainer(probe, sizeBytes, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMediaError);
    expect(error).toBeInstanceOf(PermanentError);
    return (error as Error).message;
  }
  throw new Error("expected a rejection");
}

describe("rotationOf", () => {
  it("reads ffprobe's display-matrix rotation as counter-clockwise: -90 is 90° clockwise", () => {
    const withRotation = (rotation: number): RawStream => ({ index: 0, side_data_list: [{ side_data_type: "Display Matrix", rotation }] });
    expect(rotationOf(withRotation(-90))).toBe(90);
    expect(rotationOf(withRotation(90))).toBe(270);
    expect(rotationOf(withRotation(180))).toBe(180);
    expect(rotationOf(withRotation(-180))).toBe(180);
    expect(rotationOf(withRotation(-270))).toBe(270);
    expect(rotationOf(withRotation(0))).toBe(0);
    expect(rotationOf(withRotation(-89.99))).toBe(90);
  });

  it("reads the old clockwise rotate tag, and prefers the display matrix when both are there", () => {
    expect(rotationOf({ index: 0, tags: { rotate: "90" } })).toBe(90);
    expect(rotationOf({ index: 0, tags: { rotate: "270" } })).toBe(270);
    expect(rotationOf({ index: 0, tags: { rotate: "-90" } })).toBe(270);
    expect(rotationOf({ index: 0, tags: { rotate: "90" }, side_data_list: [{ rotation: -90 }] })).toBe(90);
    expect(rotationOf({ index: 0, tags: { rotate: "180" }, side_data_list: [{ rotation: 0 }] })).toBe(0);
  });

  it("skips side data without a rotation and defaults to 0", () => {
    expect(rotationOf({ index: 0, side_data_list: [{ side_data_type: "DOVI configuration record" }, { side_data_type: "Display Matrix", rotation: -90 }] })).toBe(90);
    expect(rotationOf({ index: 0, side_data_list: [{ side_data_type: "DOVI configuration record" }] })).toBe(0);
    expect(rotationOf({ index: 0 })).toBe(0);
  });
});

describe("displaySize", () => {
  it("applies the sample aspect ratio: DV 720x480 SAR 8:9 is 640x480", () => {
    expect(displaySize({ index: 0, width: 720, height: 480, sample_aspect_ratio: "8:9" }, 0)).toEqual({ width: 640, height: 480 });
    expect(displaySize({ index: 0, width: 720, height: 480, sample_aspect_ratio: "32:27" }, 0)).toEqual({ width: 853, height: 480 });
  });

  it("ignores a square, unknown or missing SAR", () => {
    expect(displaySize({ index: 0, width: 1920, height: 1080, sample_aspect_ratio: "1:1" }, 0)).toEqual({ width: 1920, height: 1080 });
    expect(displaySize({ index: 0, width: 1920, height: 1080, sample_aspect_ratio: "0:1" }, 0)).toEqual({ width: 1920, height: 1080 });
    expect(displaySize({ index: 0, width: 161, height: 121 }, 0)).toEqual({ width: 161, height: 121 });
  });

  it("swaps the sides for 90 and 270 degrees, after applying the SAR", () => {
    expect(displaySize({ index: 0, width: 3840, height: 2160 }, 90)).toEqual({ width: 2160, height: 3840 });
    expect(displaySize({ index: 0, width: 1280, height: 720 }, 270)).toEqual({ width: 720, height: 1280 });
    expect(displaySize({ index: 0, width: 1920, height: 1080 }, 180)).toEqual({ width: 1920, height: 1080 });
    expect(displaySize({ index: 0, width: 720, height: 480, sample_aspect_ratio: "8:9" }, 90)).toEqual({ width: 480, height: 640 });
  });
});

describe("chooseVideoStream", () => {
  it("picks the motion photo's 58-frame track 0, not the one-frame still ffmpeg would pick", () => {
    expect(chooseVideoStream(MOTION_PHOTO)?.index).toBe(0);
    // Order in the file does not matter.
    expect(chooseVideoStream([...MOTION_PHOTO].reverse())?.index).toBe(0);
  });

  it("does not count cover art (attached_pic) as a video", () => {
    expect(chooseVideoStream(MP3_WITH_COVER)).toBeUndefined();
    const withVideo: RawStream[] = [
      ...MP3_WITH_COVER,
      { index: 2, codec_type: "video", width: 640, height: 360, nb_frames: "10", disposition: { attached_pic: 0 } },
    ];
    expect(chooseVideoStream(withVideo)?.index).toBe(2);
  });

  it("estimates frames from duration x frame rate when nb_frames is missing, then prefers the larger picture", () => {
    const streams: RawStream[] = [
      { index: 0, codec_type: "video", width: 640, height: 360, duration: "10.0", avg_frame_rate: "30/1" },
      { index: 1, codec_type: "video", width: 1920, height: 1080, duration: "2.0", avg_frame_rate: "30/1" },
    ];
    expect(chooseVideoStream(streams)?.index).toBe(0);
    const sameLength: RawStream[] = [
      { index: 0, codec_type: "video", width: 640, height: 360 },
      { index: 1, codec_type: "video", width: 1920, height: 1080 },
    ];
    expect(chooseVideoStream(sameLength)?.index).toBe(1);
  });

  it("ignores video streams without a size", () => {
    expect(chooseVideoStream([{ index: 0, codec_type: "video", width: 0, height: 0, nb_frames: "100" }])).toBeUndefined();
  });
});

describe("chooseAudioStream", () => {
  it("prefers the default audio track, else the first with channels", () => {
    const streams: RawStream[] = [
      { index: 0, codec_type: "video", width: 640, height: 360 },
      { index: 1, codec_type: "audio", channels: 0 },
      { index: 2, codec_type: "audio", channels: 2, disposition: { default: 0 } },
      { index: 3, codec_type: "audio", channels: 6, disposition: { default: 1 } },
    ];
    expect(chooseAudioStream(streams)?.index).toBe(3);
    expect(chooseAudioStream(streams.slice(0, 3))?.index).toBe(2);
    expect(chooseAudioStream(streams.slice(0, 2))).toBeUndefined();
    expect(chooseAudioStream(MP3_WITH_COVER)?.index).toBe(0);
  });
});

describe("assertUsableContainer", () => {
  it("returns the chosen video stream", () => {
    expect(assertUsableContainer({ streams: MOTION_PHOTO }, 3_490_000, LIMITS).index).toBe(0);
  });

  it("rejects an audio-only MP3 with cover art, saying so", () => {
    expect(rejection({ streams: MP3_WITH_COVER })).toBe("the file has no video track, only audio and cover art; vodpipe needs a video");
    expect(rejection({ streams: MP3_WITH_COVER.slice(0, 1) })).toBe("the file has no video track, only audio; vodpipe needs a video");
    expect(rejection({ streams: [{ index: 0, codec_type: "data" }] })).toBe("the file has no video track");
  });

  it("rejects a container with no tracks (rclone's empty moov)", () => {
    expect(rejection({ format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "0.000000" }, streams: [] })).toMatch(/no audio or video tracks/);
    expect(rejection({})).toMatch(/no audio or video tracks/);
  });

  it("enforces the stream, size and dimension limits", () => {
    const many = Array.from({ length: 33 }, (_, index): RawStream => ({ index, codec_type: "data" }));
    expect(rejection({ streams: many })).toBe("the file has 33 streams; at most 32 are accepted");
    expect(rejection({ streams: MOTION_PHOTO }, 1_000_000_001)).toBe("the file is 1000000001 bytes; the limit is 1000000000 bytes");
    const huge: RawStream = { index: 0, codec_type: "video", width: 8192, height: 4320, tags: { rotate: "90" } };
    // Checked on the displayed size: rotated, it is 4320 wide and 8192 high.
    expect(assertUsableContainer({ streams: [huge] }, 1000, LIMITS).index).toBe(0);
    expect(rejection({ streams: [huge] }, 1000, { ...LIMITS, maxHeight: 4320 })).toBe(
      "the video is 4320x8192; the largest accepted size is 8192x4320",
    );
  });

  it("holds the picture as coded to the limits too, whatever its sample aspect ratio makes of it", () => {
    // Displayed 16x64 (16384 / 1000 wide), decoded and filtered at 16384x64.
    const squeezed: RawStream = { index: 0, codec_type: "video", width: 16384, height: 64, coded_width: 16384, coded_height: 64, sample_aspect_ratio: "1:1000" };
    expect(rejection({ streams: [squeezed] })).toBe("the video's frames are 16384x64 pixels as stored; the largest accepted size is 8192x8192");
    const square: RawStream = { index: 0, codec_type: "video", width: 8192, height: 8192 };
    expect(rejection({ streams: [square] })).toBe(
      "the video's frames are 8192x8192 pixels as stored, 67108864 in all; at most 35651584 are accepted",
    );
    // A coded size padded beyond the picture counts: it is what the decoder allocates.
    const padded: RawStream = { index: 0, codec_type: "video", width: 8000, height: 64, coded_width: 8208, coded_height: 64 };
    expect(rejection({ streams: [padded] })).toMatch(/^the video's frames are 8208x64 pixels as stored/);
    // Portrait coded as such, within the limits: accepted.
    const portrait: RawStream = { index: 0, codec_type: "video", width: 4320, height: 7680 };
    expect(assertUsableContainer({ streams: [portrait] }, 1000, LIMITS).index).toBe(0);
  });

  it("rejects a file whose header claims more than the longest accepted video before reading its packets", () => {
    const video: RawStream = { index: 0, codec_type: "video", width: 320, height: 240 };
    expect(rejection({ format: { duration: "36000.000000" }, streams: [video] })).toBe("the file says it lasts 36000.0 s; the limit is 14400 s");
    // Up to twice the limit the packets decide: a stated length can be an estimate.
    expect(assertUsableContainer({ format: { duration: "28800.000000" }, streams: [video] }, 1000, LIMITS).index).toBe(0);
  });
});

describe("describeSource", () => {
  const OPTIONS = { ...LIMITS, maxFrameRate: 30 };

  it("describes the rotated 4K60 phone clip: portrait, halved to 30 fps, full range, duration from packets", () => {
    const video: RawStream = {
      index: 0, codec_type: "video", codec_name: "h264", width: 3840, height: 2160, sample_aspect_ratio: "1:1",
      pix_fmt: "yuvj420p", color_range: "pc", color_transfer: "smpte170m", r_frame_rate: "60/1", avg_frame_rate: "1080000/17981",
      side_data_list: DISPLAY_MATRIX_MINUS_90,
    };
    const audio: RawStream = { index: 1, codec_type: "audio", codec_name: "aac", channels: 2, sample_rate: "48000" };
    const probe: RawProbe = { format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", start_time: "0.000000" }, streams: [video, audio] };
    // 18 frames, 17 intervals over 0.2832 s: about 60.03 fps.
    const packets = { frameCount: 18, firstPts: 0, lastPts: 0.2832, keyframeTimes: [0], timestamped: true };
    const source = describeSource(probe, video, packets, 2_490_000, OPTIONS);
    expect(source).toEqual({
      formatName: "mov,mp4,m4a,3gp,3g2,mj2",
      sizeBytes: 2_490_000,
      streamCount: 2,
      formatStartTime: 0,
      durationSeconds: 0.2832 + 1 / 60,
      video: {
        index: 0, codec: "h264", codedWidth: 3840, codedHeight: 2160, rotation: 90, displayWidth: 2160, displayHeight: 3840,
        pixelFormat: "yuvj420p", hdr: null, fullRange: true, frameCount: 18, frameRate: { num: 30, den: 1 },
        startTime: 0, durationSeconds: 0.2832 + 1 / 60, keyframeTimes: [0], maxKeyframeGapSeconds: 0.2832 + 1 / 60, timestamped: true,
      },
      audio: { index: 1, codec: "aac", channels: 2, sampleRate: 48_000 },
    });
  });

  it("measures the FLV's real 30 fps despite avg_frame_rate 1000/1, and has no audio when none is usable", () => {
    const video: RawStream = {
      index: 0, codec_type: "video", codec_name: "h264", width: 1080, height: 720, pix_fmt: "yuv420p",
      r_frame_rate: "60/1", avg_frame_rate: "1000/1",
    };
    const packets = { frameCount: 30, firstPts: 0.067, lastPts: 1.034, keyframeTimes: [0.067], timestamped: true };
    const source = describeSource({ format: { format_name: "flv", start_time: "0.067000" }, streams: [video] }, video, packets, 101_000, OPTIONS);
    expect(source.video.frameRate).toEqual({ num: 30, den: 1 });
    expect(source.durationSeconds).toBeCloseTo(0.967 + 1 / 30, 9);
    expect(source.formatStartTime).toBe(0.067);
    expect(source.video.startTime).toBe(0.067);
    expect(source.video.fullRange).toBe(false);
    expect(source.audio).toBeNull();
  });

  it("uses the header rate for a one-frame DV file and applies its SAR", () => {
    const dv: RawStream = { index: 0, codec_type: "video", codec_name: "dvvideo", width: 720, height: 480, sample_aspect_ratio: "8:9", avg_frame_rate: "30000/1001", pix_fmt: "yuv411p" };
    const source = describeSource({ format: { format_name: "dv" }, streams: [dv] }, dv, { frameCount: 1, firstPts: 0, lastPts: 0, keyframeTimes: [0], timestamped: true }, 120_000, OPTIONS);
    expect(source.video.frameRate).toEqual({ num: 30000, den: 1001 });
    expect(source.durationSeconds).toBe(1001 / 30000);
    expect([source.video.displayWidth, source.video.displayHeight]).toEqual([640, 480]);
    expect(source.formatStartTime).toBe(0);
  });

  it("times a stream without timestamps from its frame count at the header's rate, as one keyframe run", () => {
    const h264: RawStream = { index: 0, codec_type: "video", codec_name: "h264", width: 320, height: 240, r_frame_rate: "30000/1001", avg_frame_rate: "30000/1001" };
    const untimed = { frameCount: 150, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: false };
    const source = describeSource({ format: { format_name: "h264" }, streams: [h264] }, h264, untimed, 90_000, OPTIONS);
    expect(source.video.frameRate).toEqual({ num: 30000, den: 1001 });
    expect(source.durationSeconds).toBeCloseTo((150 * 1001) / 30000, 9);
    expect(source.video.frameCount).toBe(150);
    expect(source.video.keyframeTimes).toEqual([0]);
    expect(source.video.timestamped).toBe(false);
  });

  it("flags HDR transfer functions", () => {
    const hdr = (color_transfer: string) => {
      const v: RawStream = { index: 0, codec_type: "video", width: 1280, height: 720, color_transfer, avg_frame_rate: "30/1" };
      return describeSource({ streams: [v] }, v, { frameCount: 2, firstPts: 0, lastPts: 1 / 30, keyframeTimes: [0], timestamped: true }, 1000, OPTIONS).video.hdr;
    };
    expect(hdr("arib-std-b67")).toBe("hlg");
    expect(hdr("smpte2084")).toBe("pq");
    expect(hdr("bt709")).toBeNull();
  });

  it("rejects a track without frames and a video over the duration limit", () => {
    const v: RawStream = { index: 0, codec_type: "video", width: 640, height: 360, avg_frame_rate: "25/1" };
    expect(() => describeSource({ streams: [v] }, v, { frameCount: 0, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: true }, 1000, OPTIONS))
      .toThrow(new InvalidMediaError("the video track has no frames (zero duration)"));
    expect(() =>
      describeSource({ streams: [v] }, v, { frameCount: 250, firstPts: 0, lastPts: 9.96, keyframeTimes: [0], timestamped: true }, 1000, { ...OPTIONS, maxDurationSeconds: 5 }),
    ).toThrow("the video lasts 10.0 s; the limit is 5 s");
  });

  it("rejects a track with more frames a second than any recording has", () => {
    const v: RawStream = { index: 0, codec_type: "video", width: 640, height: 360, avg_frame_rate: "25/1" };
    // Two million packets one microsecond apart: two seconds of "video" a decoder would choke on.
    const dense = { frameCount: 2_000_000, firstPts: 0, lastPts: 1.999999, keyframeTimes: [0], timestamped: true };
    expect(() => describeSource({ streams: [v] }, v, dense, 1000, OPTIONS)).toThrow(
      /^the video packs 2000000 frames into 2\.0 s, more than 1000 a second/,
    );
    // 240 fps slow motion is a real recording.
    const slowMotion = { frameCount: 2400, firstPts: 0, lastPts: 9.9958, keyframeTimes: [0], timestamped: true };
    expect(describeSource({ streams: [v] }, v, slowMotion, 1000, OPTIONS).video.frameCount).toBe(2400);
  });
});

describe("parsePacketCsv", () => {
  it("counts packets, finds the span and the keyframes on the file's timeline", () => {
    // B-frame reordering: packets arrive in decode order; flags as ffprobe 5.1 prints them.
    const csv = ["0,1.500000,0.125000,K_", "0,1.875000,0.125000,__", "0,1.625000,0.125000,__", "0,1.750000,0.125000,__", "0,2.500000,0.125000,K_", "0,2.250000,0.125000,__", ""].join("\n");
    expect(parsePacketCsv(csv, 1.5, 0)).toEqual({ frameCount: 6, firstPts: 0, lastPts: 1, keyframeTimes: [0, 1], timestamped: true });
  });

  it("skips packets without a pts and discarded (D) packets, and tolerates blank lines and trailing commas", () => {
    const csv = "0,N/A,0.040000,__\n0,0.960000,0.040000,_D\n0,1.000000,0.040000,K_,\n\n0,1.040000,0.040000,__,\n\r\n";
    expect(parsePacketCsv(csv, 0, 0)).toEqual({ frameCount: 2, firstPts: 1, lastPts: 1.04, keyframeTimes: [1], timestamped: true });
  });

  it("keeps only the chosen stream's lines of a listing of every video stream", () => {
    // `-select_streams v` on a motion photo: stream 0 is the video, stream 1 a one-frame still.
    const csv = ["0,0.000000,0.033000,K_", "1,0.000000,0.000000,K_", "0,0.033000,0.033000,__", "0,0.066000,0.033000,__", ""].join("\n");
    expect(parsePacketCsv(csv, 0, 0)).toEqual({ frameCount: 3, firstPts: 0, lastPts: 0.066, keyframeTimes: [0], timestamped: true });
    expect(parsePacketCsv(csv, 0, 1)).toEqual({ frameCount: 1, firstPts: 0, lastPts: 0, keyframeTimes: [0], timestamped: true });
    expect(parsePacketCsv(csv, 0, 2).frameCount).toBe(0);
  });

  it("counts the packets of a stream that carries no timestamps at all", () => {
    // A raw H.264 elementary stream, as ffprobe lists it even with +genpts.
    const csv = ["0,N/A,N/A,K_", "0,N/A,N/A,__", "0,N/A,N/A,__", ""].join("\n");
    expect(parsePacketCsv(csv, 0, 0)).toEqual({ frameCount: 3, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: false });
  });

  it("reports zero frames for an empty listing", () => {
    expect(parsePacketCsv("", 0, 0)).toEqual({ frameCount: 0, firstPts: 0, lastPts: 0, keyframeTimes: [], timestamped: true });
  });
});

describe("safeInputOptions", () => {
  it("allows only local files and known demuxers (no hls, concat or image2)", () => {
    const options = safeInputOptions();
    expect(options.slice(0, 3)).toEqual(["-protocol_whitelist", "file", "-format_whitelist"]);
    expect(options).toHaveLength(4);
    const formats = options[3]!.split(",");
    expect(formats).toContain("mov");
    expect(formats).toContain("mpegts");
    expect(formats).toContain("flv");
    expect(formats).toContain("dv");
    for (const refused of ["hls", "concat", "image2", "tty", "lavfi", "data"]) expect(formats).not.toContain(refused);
  });
});

describe("maxKeyframeGap", () => {
  it("measures between keyframes and from the last one to the end", () => {
    expect(maxKeyframeGap([0, 2, 4, 5], 9)).toBe(4);
    expect(maxKeyframeGap([0, 2, 4], 5)).toBe(2);
    expect(maxKeyframeGap([], 3)).toBe(3);
  });
});
