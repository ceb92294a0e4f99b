import type { RequestHandler } from "express";
import type { ZodType } from "zod";
import { ApiError, badRequest } from "../shared/errors.ts";
import { parse } from "../shared/validation.ts";
import { readBody, type BodyBudget } from "./requestBody.ts";

export interface ValidationOptions {
  /** The body schema for a request, if its route has one (see contracts.ts). */
  schemaFor: (method: string, route: string) => ZodType | undefined;
  /** The byte cap for a route's request bodies. */
  maxBodyBytes: (route: string) => number;
  /** Media types besides JSON that a route's service takes and checks itself (catalog). */
  bodyTypes: (route: string) => readonly string[];
  /** What this process may hold of request bodies at once. */
  budget: BodyBudget;
}

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * Payload validation at the edge: a body over the route's cap is a 413, a body that is neither
 * JSON nor a type the route's service declares (catalog `traffic.bodyTypes`) a 415, malformed
 * JSON a 400, and a body that breaks the route's schema a 400 naming the field.
 * The raw bytes are kept on `res.locals.body` for the proxy, so the body is read only once.
 */
export function validateRequest(opts: ValidationOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      const route = res.locals.route!;
      const body = await readBody(req, res, opts.maxBodyBytes(route), opts.budget);
      res.locals.body = body;
      if (!body) {
        if (WITH_BODY.has(req.method) && opts.schemaFor(req.method, route)) {
          throw badRequest("missing_body", "this request needs a JSON body");
        }
        return next();
      }
      if (!req.is("application/json")) {
        const other = opts.bodyTypes(route);
        // A route with a JSON schema takes JSON only; the others may take what they declare.
        if (other.length > 0 && !opts.schemaFor(req.method, route) && req.is([...other]))
          return next();
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
      const schema = opts.schemaFor(req.method, route);
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
  }
}
