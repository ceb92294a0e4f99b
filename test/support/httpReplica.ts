import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real HTTP server standing in for one replica of a service, whose behaviour a test sets and
 * changes at will (answer, fail with a status, hang), and which counts what it received.
 */
export interface TestReplica {
  url: string;
  hits: number;
  behave(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  stop(): Promise<void>;
}

export const ok =
  (body = "ok") =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/plain" }).end(body);
  };
export const status = (code: number) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(code, { "content-type": "text/plain" }).end(String(code));
};
export const hang = () => () => undefined;

/** `at`: the loopback address and port to listen on (default 127.0.0.1, any free port). */
export async function startReplica(
  handler = ok(),
  at: { host?: string; port?: number } = {},
): Promise<TestReplica> {
  let current = handler;
  const replica = { url: "", hits: 0 } as TestReplica;
  const server: Server = createServer((req, res) => {
    if (req.url === "/readyz") return void res.writeHead(200).end("ready");
    replica.hits++;
    current(req, res);
  });
  const host = at.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(at.port ?? 0, host, resolve));
  replica.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  replica.behave = (h) => (current = h);
  replica.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return replica;
}
