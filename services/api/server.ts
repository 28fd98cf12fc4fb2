import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";

export interface RunningServer {
  /** `http://127.0.0.1:<port>` style address of the bound socket. */
  url: string;
  port: number;
  /** Stops accepting, ends open connections (event streams included) and resolves when closed. */
  close(): Promise<void>;
}

/** Serves the app on Node's HTTP server. Port 0 picks a free port (tests). */
export function listen(app: { fetch: (request: Request) => Response | Promise<Response> }, options: { port: number; hostname?: string }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request: Request) => app.fetch(request), port: options.port, hostname: options.hostname }, (info: AddressInfo) => {
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      const shown = info.address === "::" || info.address === "0.0.0.0" ? "localhost" : host;
      resolve({
        url: `http://${shown}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            const http = server as Server;
            http.close(() => done());
            // Event streams and keep-alive sockets would hold close() open for ever.
            http.closeAllConnections?.();
          }),
      });
    }) as Server;
    server.once("error", reject);
  });
}
