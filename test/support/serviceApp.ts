import { once } from "node:events";
import { randomUUID } from "node:crypto";
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { publishedOperations } from "../../services/api/registry.ts";
import { checkAnswers } from "../../services/shared/answerCheck.ts";
import { createApp, finishApp } from "../../services/shared/http.ts";
import { createLogger, type Logger } from "../../services/shared/logger.ts";
import { createMetrics } from "../../services/shared/metrics.ts";
import { CALL_SIGNATURE_HEADER, signCall } from "../../services/shared/callSignature.ts";
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
  // Every answer of a published operation is held to its schema, as in every test run.
  checkAnswers(app, publishedOperations[name] ?? [], logger);
  await mount(app, logger);
  finishApp(app, logger);
  const closers: Array<() => Promise<void> | void> = [];
  const origin = await listenOnLoopback(createServer(app), closers);
  const url = await listenOnLoopback(createServer(signingHop(origin)), closers);
  return {
    url,
    logger,
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
}

/** Asks the test's signing hop to sign this request as a gateway or a service of the stack would. */
const SIGN_ME = "x-test-sign";

/**
 * What stands in front of a served app in place of the stack's gateways and services: a request
 * that asks for it (`SIGN_ME`, set by `principal()` and `stackCall()`) is signed as sent
 * (callSignature.ts), any other passes as it is, so that what a test sends unsigned or forged
 * reaches the service that way.
 */
function signingHop(origin: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(
        Object.entries(req.headers).flatMap(([h, v]) =>
          v === undefined || h === "host" || h === "connection" || h === SIGN_ME
            ? []
            : [[h, Array.isArray(v) ? v.join(", ") : v]],
        ),
      );
      if (req.headers[SIGN_ME] !== undefined) {
        headers["x-request-id"] ??= randomUUID();
        headers[CALL_SIGNATURE_HEADER] = signCall(TEST_PRINCIPAL_SECRET, {
          method: req.method ?? "GET",
          target: req.url ?? "/",
          headers,
          body: body.length > 0 ? body : undefined,
        });
      }
      const out = request(
        `${origin}${req.url}`,
        { method: req.method, headers, agent: false },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.once("error", () => res.destroy());
      out.end(body.length > 0 ? body : undefined);
    });
  };
}

/** The principal headers a gateway sends, to be signed for the request they go with. */
export function signedPrincipal(p: Principal): Record<string, string> {
  return { [SIGN_ME]: "1", ...principalHeaders(p) };
}

/** A user's signed principal headers (key `key_test`, plan `free` unless `more` says otherwise). */
export const principal = (userId = "user-1", more: Partial<Omit<Principal, "userId">> = {}) =>
  signedPrincipal({ userId, keyId: "key_test", plan: "free", ...more });

/**
 * The headers of one call signed as the stack's processes sign theirs, for a server that no
 * signing hop stands in front of (a gateway's `/internal/*`).
 */
export function signedCall(
  method: string,
  target: string,
  body?: string,
  headers: Record<string, string> = {},
): Record<string, string> {
  const all = { "x-request-id": randomUUID(), ...headers };
  const signature = signCall(TEST_PRINCIPAL_SECRET, {
    method,
    target,
    headers: all,
    body: body === undefined ? undefined : Buffer.from(body),
  });
  return { ...all, [CALL_SIGNATURE_HEADER]: signature };
}

/** For a call to `/internal/*` as the stack's own processes make them: signed, with no principal. */
export const stackCall = (): Record<string, string> => ({ [SIGN_ME]: "1" });

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
