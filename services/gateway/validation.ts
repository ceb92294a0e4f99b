import type { RequestHandler } from "express";
import type { ZodType } from "zod";
import { ApiError, badRequest } from "../shared/errors.ts";
import { parse } from "../shared/validation.ts";
import { REPLAYABLE_BODY_BYTES } from "../shared/proxy.ts";
import { readBody, reserve, type BodyBudget } from "./requestBody.ts";

export interface ValidationOptions {
  /** The body schema of a request (method, normalised path), if its operation has one. */
  schemaFor: (method: string, path: string) => ZodType | undefined;
  /** What this process may hold of request bodies at once. */
  budget: BodyBudget;
}

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * Payload validation at the edge: a body over the route's cap is a 413, a body that is neither
 * JSON nor a type the route's service declares (catalog `traffic.bodyTypes`) a 415, malformed
 * JSON a 400, and a body that breaks the route's schema a 400 naming the field.
 * A JSON body is read here, and its bytes kept on `res.locals.body` for the proxy, so it is read
 * only once. A body of a declared type is the service's to check: it is not read here but
 * streamed through by the proxy (`res.locals.streamed`), and holds no memory of this process.
 */
export function validateRequest(opts: ValidationOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      const { spec } = res.locals.target!;
      // The route's byte cap, and the media types besides JSON its service takes and checks.
      const { maxBodyBytes: limit, bodyTypes: declaredTypes } = spec.traffic;
      const schema = opts.schemaFor(req.method, res.locals.url.path);
      const declared = Number(req.headers["content-length"] ?? 0);
      if (
        declaredTypes.length > 0 &&
        WITH_BODY.has(req.method) &&
        !schema &&
        req.is([...declaredTypes]) &&
        // An announced oversize is refused below, once read, as every other one is.
        declared <= limit
      ) {
        // What the gateway keeps of it for a retry, at most (proxy.ts bodyViews).
        reserve(
          res,
          opts.budget,
          declared > 0 ? Math.min(declared, REPLAYABLE_BODY_BYTES) : REPLAYABLE_BODY_BYTES,
        );
        res.locals.streamed = true;
        return next();
      }
      // Neither a length nor chunks, as in every read: no body, and no turn of the event loop
      // waiting for one.
      const bodiless = declared === 0 && req.headers["transfer-encoding"] === undefined;
      const body = bodiless ? undefined : await readBody(req, res, limit, opts.budget);
      res.locals.body = body;
      if (!body) {
        // An operation whose fields are all optional may be sent without a body.
        if (WITH_BODY.has(req.method) && schema && !schema.safeParse({}).success) {
          throw badRequest("missing_body", "this request needs a JSON body");
        }
        return next();
      }
      if (!req.is("application/json")) {
        throw new ApiError(
          415,
          "invalid_request_error",
          "unsupported_media_type",
          "send the body as application/json",
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch (err) {
        throw badRequest("invalid_json", "the request body is not valid JSON").withDetail(
          (err as Error).message,
        );
      }
      if (schema) parse(schema, json);
      next();
    } catch (err) {
      next(err);
    }
  };
}

declare module "express-serve-static-core" {
  interface Locals {
    body?: Buffer;
    /** The body is left in the request, for the proxy to stream to the service. */
    streamed?: boolean;
  }
}
