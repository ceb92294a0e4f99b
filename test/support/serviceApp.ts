import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { createApp, finishApp } from "../../services/shared/http.ts";
import { createLogger, type Logger } from "../../services/shared/logger.ts";
import { createMetrics } from "../../services/shared/metrics.ts";
import { principalHeaders, type Principal } from "../../services/shared/principal.ts";

/** The PRINCIPAL_SECRET of the services that tests serve, as a stack's gateways would have it. */
export const TEST_PRINCIPAL_SECRET = "test-principal-secret-0123456789abcdef";

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
  const app = createApp({
    logger,
    metrics: createMetrics(name),
    ready: async () => ({}),
    principalSecret: TEST_PRINCIPAL_SECRET,
  });
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

/**
 * The headers a gateway sends with a principal it verified, signed for a request id of their own
 * (sent with them): a service believes them for that request id for a few minutes.
 */
export function signedPrincipal(p: Principal): Record<string, string> {
  const requestId = randomUUID();
  return {
    "x-request-id": requestId,
    ...principalHeaders(p, { secret: TEST_PRINCIPAL_SECRET, requestId }),
  };
}

/** A user's signed principal headers (key `key_test`, plan `free` unless `more` says otherwise). */
export const principal = (userId = "user-1", more: Partial<Omit<Principal, "userId">> = {}) =>
  signedPrincipal({ userId, keyId: "key_test", plan: "free", ...more });

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
