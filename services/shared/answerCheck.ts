import type { Express } from "express";
import { errorBody } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Operation } from "./operation.ts";

// Keeps the answers the API description promises honest. The OpenAPI document (and the client's
// types generated from it) state what each operation's success answers (`success.json`); with
// CHECK_ANSWERS=1, which the test runs set, every 2xx JSON answer of such an operation is parsed
// with that schema before it goes out, and one that does not match becomes a 500 naming the
// field, so whichever test caused it fails. Off in a deployment: the check costs a parse.

export const CHECK_ANSWERS_ENV = "CHECK_ANSWERS";

export const checkingAnswers = (env: NodeJS.ProcessEnv = process.env) =>
  env[CHECK_ANSWERS_ENV] === "1";

/** Installs the check in front of the service's routes (call before mounting them). */
export function checkAnswers(app: Express, ops: readonly Operation[], logger: Logger): void {
  const checked = ops.filter((op) => op.success?.json);
  if (checked.length === 0) return;
  app.use((req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const op =
        res.statusCode < 300 && typeof route === "string"
          ? checked.find((o) => o.path === route && o.method === req.method.toLowerCase())
          : undefined;
      const parsed = op?.success?.json?.safeParse(body);
      if (!op || !parsed || parsed.success) return json(body);
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "(the answer)";
      const message = `the answer of ${op.id} does not match its published schema: ${field}: ${issue.message}`;
      logger.error({ operation: op.id, issues: parsed.error.issues }, message);
      res.status(500);
      return json(errorBody(message, "api_error", "answer_schema_mismatch"));
    };
    next();
  });
}
