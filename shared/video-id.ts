import { randomBytes } from "node:crypto";

/** A new video id that sorts by creation time (base-36 milliseconds) and is unguessable (40 random bits). */
export function newVideoId(): string {
  return `${Date.now().toString(36)}${randomBytes(5).toString("hex")}`;
}
