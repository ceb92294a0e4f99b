import { ApiError } from "../shared/errors.ts";
import type { Principal } from "../shared/principal.ts";

// The quota step of the chat flow, as a seam. The identity domain's quota service does not exist
// yet (issue #4 lists it); once it does, a gate that calls it is passed to the chat routes. Until
// then no gate is configured, nothing is limited, and each request's flow says
// `quota:not-enforced` in its log line.

export interface QuotaGate {
  /**
   * Reserves `estimatedTokens` for `principal` before inference; throws `insufficientBalance()`
   * (402) or a 429 when the caller's quota is spent.
   */
  reserve(principal: Principal, estimatedTokens: number): Promise<void>;
}

/** DeepSeek's 402: the caller's balance (its token quota here) is spent. */
export function insufficientBalance(message: string): ApiError {
  return new ApiError(402, "invalid_request_error", "insufficient_balance", message);
}
