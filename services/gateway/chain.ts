import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from "express";
import type { IncomingMessage, ServerResponse } from "node:http";
import { routeNotFound } from "../shared/errors.ts";
import type { RequestTarget } from "../shared/requestTarget.ts";

/**
 * Runs the gateway's chain (app.ts) on a request, step after step, without express's router.
 * The router matched every step's mount path again per request, trimmed and restored `req.url`
 * around each, and wrapped each call in layers of its own: about a tenth of the gateway's busy
 * time in front of a trivial upstream (bench/README.md). The steps stay express handlers with
 * express's request and response (the prototypes of `app`, as `app.handle` gives them), so each
 * module and its tests are unchanged: a step answers, calls `next()` to go on, or `next(err)` to
 * go to the error handlers, which run in order as express runs them. A step's rejected promise
 * is an error, as in express 5.
 */
export function chainOf(
  app: Express,
  steps: readonly RequestHandler[],
  errorSteps: readonly ErrorRequestHandler[],
): (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void {
  return (rawReq, rawRes, target) => {
    const req = rawReq as Request;
    const res = rawRes as Response;
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals = Object.create(null) as Response["locals"];
    res.locals.url = target;
    let step = 0;
    let errorStep = 0;
    const next = (err?: unknown): void => {
      try {
        if (err === undefined) {
          // Every chain ends with a step that answers; running past it is a route with none.
          const handler = steps[step++];
          if (!handler) return next(routeNotFound(req.method, target.path));
          settle(handler(req, res, next), next);
        } else {
          const handler = errorSteps[errorStep++];
          if (!handler) return void res.destroy(err as Error);
          settle(handler(err, req, res, next), next);
        }
      } catch (thrown) {
        next(thrown ?? new Error("a chain step threw nothing"));
      }
    };
    next();
  };
}

function settle(result: unknown, next: (err: unknown) => void): void {
  if (result instanceof Promise) result.catch(next);
}
