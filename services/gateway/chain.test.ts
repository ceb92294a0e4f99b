import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError } from "../shared/errors.ts";
import { parseTarget } from "../shared/requestTarget.ts";
import { chainOf } from "./chain.ts";

// The chain runner must keep express's contract for the steps it runs: order, `next()`,
// `next(err)` to the error handlers in order, a rejected promise or a throw as an error, and
// express's request and response (res.json, req.ip, res.locals) in every step.

let server: Server;
let base: string;
const seen: string[] = [];

const step =
  (name: string): RequestHandler =>
  (_req, _res, next) => {
    seen.push(name);
    next();
  };
const answer: RequestHandler = (req, res) => {
  res.json({ path: res.locals.url.path, ip: req.ip, seen });
};
const toErrors: ErrorRequestHandler[] = [
  (err, _req, res, next) => {
    seen.push("first error handler");
    if ((err as Error).message === "passed on") return next(err);
    res.status(418).json({ handledBy: "first", message: (err as Error).message });
  },
  (err, _req, res, _next) => {
    res.status(err instanceof ApiError ? err.status : 500).json({ handledBy: "last" });
  },
];

beforeAll(async () => {
  const app = express();
  const chains: Record<string, ReturnType<typeof chainOf>> = {
    "/ok": chainOf(app, [step("a"), step("b"), answer], toErrors),
    "/next-error": chainOf(app, [(_q, _s, next) => next(new Error("boom")), answer], toErrors),
    "/rejects": chainOf(app, [async () => Promise.reject(new Error("rejected")), answer], toErrors),
    "/throws": chainOf(
      app,
      [
        () => {
          throw new Error("thrown");
        },
      ],
      toErrors,
    ),
    "/passed-on": chainOf(app, [(_q, _s, next) => next(new Error("passed on"))], toErrors),
    "/runs-out": chainOf(app, [step("only")], toErrors),
  };
  server = createServer((req, res) => {
    seen.length = 0;
    const target = parseTarget(req.url);
    chains[target.path]!(req, res, target);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((ok) => server.close(ok)));

test("steps run in order, with express's request and response and the target read once", async () => {
  const res = await fetch(`${base}/ok?x=1`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ path: "/ok", ip: "127.0.0.1", seen: ["a", "b"] });
});

test.each([
  ["/next-error", "boom"],
  ["/rejects", "rejected"],
  ["/throws", "thrown"],
])("%s: the error goes to the first error handler, past the other steps", async (path, message) => {
  const res = await fetch(`${base}${path}`);
  expect(res.status).toBe(418);
  expect(await res.json()).toEqual({ handledBy: "first", message });
});

test("an error handler passes an error on to the next one", async () => {
  const res = await fetch(`${base}/passed-on`);
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ handledBy: "last" });
});

test("a chain that runs past its last step answers 404 through the error handlers", async () => {
  const res = await fetch(`${base}/runs-out`);
  expect(res.status).toBe(418);
  expect(((await res.json()) as { message: string }).message).toMatch(/runs-out/);
});
