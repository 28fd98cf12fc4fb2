import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the proxy can do to a request instead of forwarding it. */
export type Fault = "server-error" | "throttle" | "reset" | "timeout" | "access-denied";

export interface RequestInfo {
  service: "s3" | "sqs";
  /** `AmazonSQS.ReceiveMessage`, or `PUT /bucket/key` for S3. */
  action: string;
}

export interface FaultProxy {
  endpoint: string;
  /** Decides each request's fate; undefined forwards it. */
  decide: (info: RequestInfo) => Fault | undefined;
  injected: Record<Fault, number>;
  forwarded: number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the S3/SQS server (fauxqs) that injects the faults real
 * AWS shows: 5xx answers, throttling, connections reset mid-request, requests never answered,
 * and AccessDenied (a deployment whose permissions are wrong). Each answer has the body and
 * status AWS would send, so the SDK and the adapters classify it as they would in production.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const held = new Set<Socket>();
  const proxy: FaultProxy = {
    endpoint: "",
    decide: () => undefined,
    injected: { "server-error": 0, throttle: 0, reset: 0, timeout: 0, "access-denied": 0 },
    forwarded: 0,
    stop: async () => {
      for (const socket of held) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const target = req.headers["x-amz-target"];
      const info: RequestInfo =
        typeof target === "string" ? { service: "sqs", action: target } : { service: "s3", action: `${req.method} ${req.url?.split("?")[0]}` };
      const fault = proxy.decide(info);
      if (!fault) {
        proxy.forwarded++;
        forward(req, Buffer.concat(chunks), res);
        return;
      }
      proxy.injected[fault]++;
      inject(fault, info, req, res);
    });
  });

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const outgoing = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => res.destroy());
    outgoing.end(body);
  }

  function inject(fault: Fault, info: RequestInfo, req: IncomingMessage, res: ServerResponse): void {
    switch (fault) {
      case "reset":
        req.socket.resetAndDestroy();
        return;
      case "timeout":
        // Never answered: the client's request timeout has to give up on it.
        held.add(req.socket);
        req.socket.on("close", () => held.delete(req.socket));
        return;
      case "server-error":
        answer(res, info, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
      case "throttle":
        if (info.service === "s3") answer(res, info, 503, "SlowDown", "Please reduce your request rate.");
        else answer(res, info, 400, "ThrottlingException", "Rate exceeded");
        return;
      case "access-denied":
        answer(res, info, 403, "AccessDenied", "Access Denied");
        return;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

function answer(res: ServerResponse, info: RequestInfo, status: number, code: string, message: string): void {
  if (info.service === "s3") {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>injected</RequestId></Error>`;
    res.writeHead(status, { "content-type": "application/xml", "x-amz-request-id": "injected" });
    res.end(body);
  } else {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "x-amzn-query-error": `${code};Sender` });
    res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }));
  }
}
