import type { RequestContext } from "../shared/trace.ts";
import { memoryCache } from "../shared/cache.ts";
import { callService, errorFrom, traceHeaders } from "../shared/serviceCall.ts";
import type { ReplicaSet } from "../shared/upstream.ts";
import type { GenerateRequest } from "../inference/contract.ts";
import type { ModelEntry, ModelList, ModelPageQuery, Selection } from "../model/contract.ts";

// chat's calls to the services it lists in the catalog (`calls`): the model registry and the
// inference service, each over its replicas with failover (services/shared/upstream.ts). Both
// calls change nothing, so a request may go to another replica even after a broken connection.

function call(
  set: ReplicaSet,
  ctx: RequestContext,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  principal: Record<string, string> = {},
) {
  return callService(set, {
    method,
    path,
    headers: { ...traceHeaders(ctx), ...principal },
    body,
    retryable: true,
    signal,
  });
}

/** How long a selection is reused: an alias moved or a model removed shows within this. */
export const SELECTION_TTL_MS = 5_000;
export class ModelClient {
  private readonly set: ReplicaSet;
  private readonly ttlMs: number;
  // The registry's answer is the same for the same caller and name until a model is trained,
  // moved or removed, and asking it is a round trip before every completion's first token.
  // Bounded (10 000 selections, the oldest go first).
  private readonly selections = memoryCache();
  constructor(set: ReplicaSet, ttlMs = SELECTION_TTL_MS) {
    this.set = set;
    this.ttlMs = ttlMs;
  }

  // `principal`: the caller's principal headers (principalToPassOn), signed anew with each call
  // (the model set's `signWith`), since which models exist depends on who asks: a trained model
  // is its owner's.

  async select(
    model: string,
    ctx: RequestContext,
    principal: Record<string, string>,
  ): Promise<Selection> {
    // Per caller: a trained model is its owner's alone, and a plan may see fewer models.
    const key = JSON.stringify([principal, model]);
    const kept = await this.selections.get(key);
    if (kept) return JSON.parse(kept) as Selection;
    const selection = await this.ask(model, ctx, principal);
    await this.selections.set(key, JSON.stringify(selection), this.ttlMs / 1000);
    return selection;
  }

  private async ask(
    model: string,
    ctx: RequestContext,
    principal: Record<string, string>,
  ): Promise<Selection> {
    const res = await call(
      this.set,
      ctx,
      "POST",
      "/internal/select",
      { model },
      undefined,
      principal,
    );
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as Selection;
  }

  async list(
    page: ModelPageQuery,
    ctx: RequestContext,
    principal: Record<string, string>,
  ): Promise<ModelList> {
    const query = new URLSearchParams({
      limit: String(page.limit),
      ...(page.after === undefined ? {} : { after: page.after }),
    });
    const res = await call(
      this.set,
      ctx,
      "GET",
      `/internal/models?${query}`,
      undefined,
      undefined,
      principal,
    );
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as ModelList;
  }

  async get(
    id: string,
    ctx: RequestContext,
    principal: Record<string, string>,
  ): Promise<ModelEntry> {
    const path = `/internal/models/${encodeURIComponent(id)}`;
    const res = await call(this.set, ctx, "GET", path, undefined, undefined, principal);
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as ModelEntry;
  }
}

export class InferenceClient {
  private readonly set: ReplicaSet;
  constructor(set: ReplicaSet) {
    this.set = set;
  }

  /**
   * Starts a generation; its JSON lines stream from the returned body. A replica that is
   * overloaded (503) passes the request to the next, until each has been asked once.
   */
  async generate(
    req: GenerateRequest,
    ctx: RequestContext,
    signal: AbortSignal,
  ): Promise<AsyncIterable<Buffer>> {
    for (let asked = 1; ; asked++) {
      const res = await call(this.set, ctx, "POST", "/internal/generate", req, signal);
      if (res.statusCode === 200) return res.body;
      if (res.statusCode !== 503 || asked >= this.set.replicas.length)
        throw await errorFrom(res.statusCode, res.body, this.set.name);
      await res.body.dump();
    }
  }
}
