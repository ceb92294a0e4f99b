import express, { type RequestHandler } from "express";
import type { z } from "zod";
import { checkBody } from "./callSignature.ts";
import { ApiError, badRequest } from "./errors.ts";

/** JSON bodies only: another content type is a 415, a bad or oversized body a 400 or 413. */
export function jsonBody(limit = "64kb"): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody =
      Number(req.headers["content-length"] ?? 0) > 0 ||
      req.headers["transfer-encoding"] !== undefined;
    if (hasBody && !req.is("application/json")) {
      return next(
        new ApiError(
          415,
          "invalid_request_error",
          "unsupported_media_type",
          "send the body as application/json",
        ),
      );
    }
    next();
  };
  // A signed call's body must be the one its signature covers (callSignature.ts).
  return [requireJson, express.json({ limit, strict: true, verify: checkBody })];
}

/** Parses with `schema`; the error names the first bad field, as `param`, the way OpenAI does. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what = "body"): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.map(String).join(".") || what;
  throw badRequest("invalid_parameter", `${param}: ${issue.message}`, param);
}
