import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { createApp, finishApp } from "../../services/shared/http.ts";
import { createLogger, type Logger } from "../../services/shared/logger.ts";
import { createMetrics } from "../../services/shared/metrics.ts";

/** One service's routes on a real HTTP server of their own, with the shared app around them. */
export interface ServedApp {
  url: string;
  logger: Logger;
  close(): Promise<void>;
}

export async function serveApp(
  name: string,
  mount: (app: Express, logger: Logger) => void | Promise<void>,
): Promise<ServedApp> {
  const logger = createLogger(name);
  const app = createApp({ logger, metrics: createMetrics(name), ready: async () => ({}) });
  await mount(app, logger);
  finishApp(app, logger);
  const server = createServer(app);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logger,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** The principal headers a gateway adds after verifying a key. */
export const principal = (userId = "user-1") => ({
  "x-principal-user": userId,
  "x-principal-key": "key_test",
  "x-principal-plan": "free",
});

/** Listens on a free loopback port; the closer it adds to `closers` ends open connections too. */
export async function listenOnLoopback(
  server: Server,
  closers: Array<() => Promise<void> | void>,
): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(
    () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
