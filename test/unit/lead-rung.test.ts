import { describe, expect, it } from "vitest";
import { chooseLeadRung, chunkRenditions, type LeadRungChoice } from "../../shared/media/lead-rung.ts";
import type { Rendition } from "../../shared/media/ladder.ts";

const rung = (name: string, height: number) => ({ name, width: Math.round((height * 16) / 9), height }) as Rendition;
const ladder = [rung("720p", 720), rung("480p", 480), rung("360p", 360)];
const twoChunks = { chunks: [{}, {}] } as LeadRungChoice["chunks"];
const mp4 = { formatName: "mov,mp4,m4a,3gp,3g2,mj2", durationSeconds: 60, video: { timestamped: true } };
const choice = (overrides: Partial<LeadRungChoice> = {}): LeadRungChoice => ({ source: mp4, renditions: ladder, chunks: twoChunks, maxSeconds: 600, ...overrides });

describe("chooseLeadRung", () => {
  it("picks the lowest rung of an MP4 or Matroska video cut into chunks", () => {
    expect(chooseLeadRung(choice())).toBe("360p");
    expect(chooseLeadRung(choice({ source: { ...mp4, formatName: "matroska,webm" } }))).toBe("360p");
  });

  it("leaves every rung to the chunks where one pass over the source would not help or not be exact", () => {
    expect(chooseLeadRung(choice({ renditions: [rung("360p", 360)] })), "one rung").toBeNull();
    expect(chooseLeadRung(choice({ chunks: { chunks: [{}] } as LeadRungChoice["chunks"] })), "one chunk").toBeNull();
    expect(chooseLeadRung(choice({ source: { ...mp4, durationSeconds: 601 } })), "longer than the limit").toBeNull();
    expect(chooseLeadRung(choice({ maxSeconds: 0 })), "turned off").toBeNull();
    expect(chooseLeadRung(choice({ source: { ...mp4, formatName: "avi" } })), "AVI").toBeNull();
    expect(chooseLeadRung(choice({ source: { ...mp4, formatName: "mpeg" } })), "MPEG-PS").toBeNull();
    expect(chooseLeadRung(choice({ source: { ...mp4, video: { timestamped: false } } })), "no timestamps").toBeNull();
  });
});

describe("chunkRenditions", () => {
  it("leaves the lead rung out of the chunks' encodes, and nothing when there is none", () => {
    expect(chunkRenditions({ renditions: ladder, leadRung: "360p" }).map((r) => r.name)).toEqual(["720p", "480p"]);
    expect(chunkRenditions({ renditions: ladder, leadRung: null }).map((r) => r.name)).toEqual(["720p", "480p", "360p"]);
    expect(chunkRenditions({ renditions: ladder }).map((r) => r.name)).toEqual(["720p", "480p", "360p"]);
  });
});
