import type { FinishReason, GenerateRequest, ToolCall, Usage } from "./contract.ts";

/** An answer in progress: its text pieces as they come, then how it ended and what it cost. */
export interface Generation {
  /** The model that answers, when it is not the one asked for (a fallback). */
  fingerprint?: string;
  pieces: AsyncIterable<string>;
  /** Read once `pieces` is exhausted. */
  result(): { finishReason: FinishReason; usage: Usage; toolCalls?: ToolCall[] };
}

/**
 * A backend starts a generation, and throws an ApiError when it cannot, before any piece: the
 * caller decides on its answer's status before the first byte. A failure after that is thrown
 * from `pieces`.
 */
export interface Backend {
  start(req: GenerateRequest, signal: AbortSignal): Promise<Generation>;
}

/**
 * Cuts a generation at the first of its stop sequences, which the answer leaves out. Text that
 * could be the start of a stop sequence is held back until the next piece settles it.
 */
export function withStops(gen: Generation, stops: readonly string[]): Generation {
  if (stops.length === 0) return gen;
  const hold = Math.max(...stops.map((s) => s.length)) - 1;
  let stopped = false;
  async function* pieces(): AsyncGenerator<string> {
    let pending = "";
    for await (const piece of gen.pieces) {
      pending += piece;
      const hits = stops.map((s) => pending.indexOf(s)).filter((i) => i >= 0);
      if (hits.length > 0) {
        stopped = true;
        const cut = pending.slice(0, Math.min(...hits));
        if (cut) yield cut;
        return;
      }
      if (pending.length > hold) {
        yield pending.slice(0, pending.length - hold);
        pending = pending.slice(pending.length - hold);
      }
    }
    if (pending) yield pending;
  }
  return {
    fingerprint: gen.fingerprint,
    pieces: pieces(),
    result: () => {
      const r = gen.result();
      return stopped ? { ...r, finishReason: "stop" } : r;
    },
  };
}
