import type { Price } from "./contract.ts";

// The price table billing charges by (docs/billing-analytics.md). Prices are US dollars per
// million tokens, as DeepSeek lists them for its API (deepseek-chat and deepseek-reasoner, the
// V3.2 prices of September 2025): input tokens on a cache hit, input tokens on a miss, output
// tokens. Our "cached" answers came from the gateway's response cache, so their prompt tokens are
// charged at the cache-hit price; their completion tokens were delivered all the same and are
// charged at the output price. The built-in n-gram model runs on our own CPUs for next to nothing.
//
// A usage is priced when billing applies it, at the prices of that moment, and its cost is kept
// with it: a later change of this table changes future bills only.

export const PRICES: Readonly<Record<string, Price>> = {
  "deepseek-chat": { inputCacheHit: 0.028, inputCacheMiss: 0.28, output: 0.42 },
  "deepseek-reasoner": { inputCacheHit: 0.028, inputCacheMiss: 0.28, output: 0.42 },
  "ngram-3": { inputCacheHit: 0.001, inputCacheMiss: 0.01, output: 0.02 },
};

/** What a model missing from the table costs: the same as deepseek-chat. */
export const DEFAULT_PRICE: Price = PRICES["deepseek-chat"]!;

/** The price of `model`: its own entry, else that of its name without `:version`, else the default. */
export function priceOf(model: string): Price {
  return PRICES[model] ?? PRICES[model.split(":")[0]!] ?? DEFAULT_PRICE;
}

/**
 * The cost of one usage in nano-dollars (1e-9 USD), an integer, so that sums are exact: a price
 * of $0.28 per million tokens is 280 nano-dollars per token.
 */
export function costNanos(
  model: string,
  usage: { promptTokens: number; completionTokens: number; cached: boolean },
): number {
  const p = priceOf(model);
  const input = usage.cached ? p.inputCacheHit : p.inputCacheMiss;
  return Math.round(usage.promptTokens * input * 1000 + usage.completionTokens * p.output * 1000);
}

/** Nano-dollars as a decimal string of dollars, exact: 123456789 -> "0.123456789". */
export function usd(nanos: number): string {
  const sign = nanos < 0 ? "-" : "";
  const digits = String(Math.abs(Math.round(nanos))).padStart(10, "0");
  return `${sign}${digits.slice(0, -9)}.${digits.slice(-9)}`;
}
