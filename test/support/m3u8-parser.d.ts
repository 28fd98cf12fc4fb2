declare module "m3u8-parser" {
  export class Parser {
    push(text: string): void;
    end(): void;
    manifest: {
      playlists?: Array<{ uri: string; attributes: Record<string, unknown> }>;
      mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string; default?: boolean }>> };
      segments: Array<{ uri: string; duration: number }>;
      targetDuration?: number;
      endList?: boolean;
      playlistType?: string;
      iFramePlaylists?: unknown[];
    };
  }
}
