import type { Express } from "express";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import { NDJSON, generateBody, type GenerationEvent } from "./contract.ts";
import { withStops, type Backend } from "./generation.ts";

export interface InferenceRoutesArgs {
  builtin: Backend;
  /** Absent when no upstream endpoint is configured: its models then answer 503. */
  upstream?: Backend;
  /** Generations one replica runs at once; one more is refused with 503 (DeepSeek's "overloaded"). */
  maxConcurrent: number;
  logger: Logger;
}

/**
 * `POST /internal/generate`: the answer as JSON lines (see contract.ts). Everything that can
 * refuse the request (validation, overload, the backend's start) does so before the first byte,
 * with a status; a failure after that is the last line, an `error` event.
 */
export function inferenceRoutes(app: Express, args: InferenceRoutesArgs): void {
  let running = 0;
  app.post("/internal/generate", ...jsonBody("1mb"), async (req, res) => {
    res.locals.route = "/internal/generate";
    const input = parse(generateBody, req.body);
    if (running >= args.maxConcurrent) {
      res.setHeader("retry-after", "1");
      throw new ApiError(
        503,
        "service_unavailable",
        "server_overloaded",
        "the inference service is overloaded; retry shortly",
      );
    }
    const backend = input.model.backend === "builtin" ? args.builtin : args.upstream;
    if (!backend) {
      throw new ApiError(
        503,
        "service_unavailable",
        "backend_not_configured",
        `model ${input.model.id} needs the upstream backend, which is not configured (INFERENCE_UPSTREAM_URL)`,
      );
    }
    running++;
    const aborted = new AbortController();
    res.once("close", () => aborted.abort());
    try {
      const started = await backend.start(input, aborted.signal).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === "server_overloaded")
          res.setHeader("retry-after", "1");
        throw err;
      });
      const generation = withStops(started, input.stop ?? []);
      const fingerprint = generation.fingerprint ?? input.model.id;
      res.locals.decision = `${input.model.backend}:${input.model.id}${generation.fingerprint ? `>${fingerprint}` : ""}`;
      res.status(200).setHeader("content-type", NDJSON);
      res.flushHeaders();
      const send = (event: GenerationEvent) => res.write(`${JSON.stringify(event)}\n`);
      send({ type: "start", fingerprint });
      try {
        for await (const text of generation.pieces) {
          if (aborted.signal.aborted) break;
          send({ type: "delta", text });
        }
        const { toolCalls, ...result } = generation.result();
        for (const call of toolCalls ?? []) send({ type: "toolCall", call });
        send({ type: "done", ...result });
      } catch (err) {
        if (aborted.signal.aborted) return;
        const api = err instanceof ApiError ? err : undefined;
        if (!api || api.detail)
          args.logger.error(
            { err, detail: api?.detail, requestId: res.locals.ctx.requestId },
            "generation failed",
          );
        send({
          type: "error",
          status: api?.status ?? 500,
          code: api?.code ?? "generation_failed",
          message: api?.message ?? "the generation failed",
        });
      }
      res.end();
    } finally {
      running--;
    }
  });
}
