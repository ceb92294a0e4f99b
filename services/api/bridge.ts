import type { Catalog } from "../../platform/catalog/schema.ts";
import { matchRoute, routingRules } from "../../platform/catalog/topology.ts";
import { IDEMPOTENT } from "../shared/proxy.ts";
import { callService, traceHeaders } from "../shared/serviceCall.ts";
import type { RequestContext } from "../shared/trace.ts";
import { tierSets } from "../shared/tiers.ts";
import type { ReplicaSet, UpstreamResponse } from "../shared/upstream.ts";
import type { BridgedRequest } from "./tools.ts";

// Sends an operation's request (an MCP tool call, a workflow step) where the router would have:
// to the gateway tier of the domain that owns the path, with the caller's API key. The tier runs
// its whole chain on it (the key's check, rate limits, quota, validation, cache, versions,
// breaker), so a call is allowed exactly what the same request over HTTP is, and is counted
// against the same key.

/** Who is calling, as the bridge's own tier passed it on. */
export interface Caller {
  /** The caller's `Authorization` header: the bridge's tier passes it to this service alone. */
  authorization: string;
  /** X-Forwarded-For for the next tier (see `forwardedChain`). */
  forwardedFor?: string;
}

/**
 * The X-Forwarded-For a tier should see so that it finds the caller's address where the route's
 * own proxies would have put it: the chain the bridge's tier received, i.e. the one that reached
 * the bridge without the tier's own last entry (its peer, the router or the ALB). The next tier
 * then counts the bridge as that peer, and its per-address limits apply to the caller, not to
 * the bridge's replicas; what a client wrote itself stays where the tier ignores it.
 */
export function forwardedChain(received: string | undefined): string | undefined {
  if (!received) return undefined;
  const entries = received.split(",").map((e) => e.trim());
  entries.pop();
  return entries.length > 0 ? entries.join(", ") : undefined;
}

export class Bridge {
  private readonly rules: ReturnType<typeof routingRules>;
  private readonly defaultDomain: string;
  private readonly tiers: Map<string, ReplicaSet>;

  /**
   * `tiers`: each domain's gateway replicas (TIER_<DOMAIN>, as the router gets them); `program`
   * names the service that bridges, for errors.
   */
  constructor(catalog: Catalog, tiers: Record<string, string[]>, program: string) {
    this.rules = routingRules(catalog);
    this.defaultDomain = catalog.defaultDomain;
    this.tiers = tierSets(catalog, tiers, program, 2_000);
  }

  /** The domain whose tier serves `path`, as the router decides it. */
  domainOf(path: string): string {
    return matchRoute(this.rules, path.split("?")[0]!)?.domain ?? this.defaultDomain;
  }

  send(
    req: BridgedRequest,
    caller: Caller,
    ctx: RequestContext,
    signal?: AbortSignal,
  ): Promise<UpstreamResponse> {
    return callService(this.tiers.get(this.domainOf(req.path))!, {
      method: req.method,
      path: req.path,
      headers: {
        ...req.headers,
        ...traceHeaders(ctx),
        authorization: caller.authorization,
        ...(caller.forwardedFor ? { "x-forwarded-for": caller.forwardedFor } : {}),
      },
      body: req.body,
      // As the gateway decides it: a write without an idempotency key is sent once.
      retryable: IDEMPOTENT.has(req.method) || req.headers["idempotency-key"] !== undefined,
      signal,
    });
  }

  /** Each tier's replicas as the bridge sees them: how many, and how many pass their checks. */
  status(): Record<string, { replicas: number; healthy: number }> {
    return Object.fromEntries(
      [...this.tiers].map(([domain, set]) => [
        domain,
        { replicas: set.replicas.length, healthy: set.healthyCount() },
      ]),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.tiers.values()].map((s) => s.close()));
  }
}
