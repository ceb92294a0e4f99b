import type { Express, Response } from "express";
import { ApiError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { principalFrom } from "../shared/principal.ts";
import { jsonBody, parse } from "../shared/validation.ts";
import type { Plan } from "../user/contract.ts";
import { checkBody, usageBody, type QuotaStatus } from "./contract.ts";
import type { Counter } from "./counter.ts";
import { periodOf, secondsLeft, type Period } from "./period.ts";
import type { PlanSource } from "./plans.ts";
import type { Counts, QuotaStore } from "./store.ts";

export interface QuotaDeps {
  counter: Counter;
  store: QuotaStore;
  plans: PlanSource;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it to the next period. */
  now?: () => number;
}

function status(plan: Plan, used: Counts, period: Period): QuotaStatus {
  const resetAt = new Date(period.endsAt).toISOString();
  const allowance = (limit: number, n: number) => ({
    limit,
    used: n,
    remaining: Math.max(0, limit - n),
    resetAt,
  });
  return {
    requests: allowance(plan.requestsPerDay, used.requests),
    tokens: allowance(plan.tokensPerDay, used.tokens),
  };
}

/** Sets `Retry-After` and answers the error as DeepSeek shapes it. */
function refuse(res: Response, err: ApiError, retryAfter: number, requestId: string) {
  res.setHeader("retry-after", String(retryAfter));
  res.status(err.status).json(err.body(requestId));
}

export function quotaRoutes(app: Express, deps: QuotaDeps): void {
  const now = deps.now ?? Date.now;

  // The gateway's quota step, before a metered request.
  app.post("/internal/quota/check", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/quota/check";
    const { userId, plan: planName, requests } = parse(checkBody, req.body);
    const requestId = res.locals.ctx.requestId;
    const plan = await deps.plans.get(planName, requestId);
    const at = now();
    const period = periodOf(at);
    const outcome = await deps.counter.consume(userId, period, requests, plan);
    const body = status(plan, outcome, period);
    if (outcome.verdict === "tokens_exhausted") {
      return refuse(
        res,
        new ApiError(
          402,
          "invalid_request_error",
          "insufficient_balance",
          `Insufficient Balance: the ${plan.tokensPerDay} tokens of plan ${plan.name} for today are spent`,
        ),
        secondsLeft(period, at),
        requestId,
      );
    }
    if (outcome.verdict === "requests_exhausted") {
      return refuse(
        res,
        new ApiError(
          429,
          "rate_limit_error",
          "quota_exceeded",
          `Rate limit reached: the ${plan.requestsPerDay} requests of plan ${plan.name} for today are used`,
        ),
        secondsLeft(period, at),
        requestId,
      );
    }
    // The models the plan allows ([] = all): the gateway passes them on with the principal.
    res.json({ ...body, models: plan.models });
  });

  // chat's report of a completion's tokens; a repeat of the same usage id changes nothing.
  app.post("/internal/quota/usage", ...jsonBody("4kb"), async (req, res) => {
    res.locals.route = "/internal/quota/usage";
    const usage = parse(usageBody, req.body);
    const period = periodOf(Date.parse(usage.at));
    const recorded = await deps.store.recordUsage(usage, period.name);
    if (recorded) {
      await deps.counter.tokensAdded(
        usage.userId,
        period,
        usage.promptTokens + usage.completionTokens,
      );
    }
    res.json({ recorded });
  });

  app.get("/v1/quota", async (req, res) => {
    res.locals.route = "/v1/quota";
    const { userId, plan: planName } = principalFrom(req.headers);
    const plan = await deps.plans.get(planName, res.locals.ctx.requestId);
    const period = periodOf(now());
    res.json(status(plan, await deps.counter.peek(userId, period), period));
  });
}
