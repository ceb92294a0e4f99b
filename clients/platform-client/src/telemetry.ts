// What the client did, by operation: counts, failures, retries and latency percentiles, kept by
// the telemetry worker (or inline) so that recording costs the caller's thread one message.

export interface OperationRecord {
  op: string;
  ms: number;
  ok: boolean;
  retries?: number;
  /** Why it failed: the error's code or class. */
  error?: string;
}

export interface OperationFigures {
  count: number;
  failed: number;
  retries: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: Record<string, number>;
}
export type TelemetrySnapshot = Record<string, OperationFigures>;

/** Keeps the last `window` latencies of each operation, and every count. */
export class Telemetry {
  private readonly ops = new Map<
    string,
    { count: number; failed: number; retries: number; ms: number[]; errors: Record<string, number> }
  >();
  private readonly window: number;
  constructor(window = 10_000) {
    this.window = window;
  }

  record(r: OperationRecord): void {
    let op = this.ops.get(r.op);
    if (!op) this.ops.set(r.op, (op = { count: 0, failed: 0, retries: 0, ms: [], errors: {} }));
    op.count++;
    op.retries += r.retries ?? 0;
    if (!r.ok) {
      op.failed++;
      const why = r.error ?? "error";
      op.errors[why] = (op.errors[why] ?? 0) + 1;
    }
    op.ms.push(r.ms);
    if (op.ms.length > this.window) op.ms.splice(0, op.ms.length - this.window);
  }

  snapshot(): TelemetrySnapshot {
    const out: TelemetrySnapshot = {};
    for (const [name, op] of this.ops) {
      const sorted = [...op.ms].sort((a, b) => a - b);
      const at = (q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      out[name] = {
        count: op.count,
        failed: op.failed,
        retries: op.retries,
        p50Ms: Math.round(at(0.5)),
        p95Ms: Math.round(at(0.95)),
        p99Ms: Math.round(at(0.99)),
        errors: { ...op.errors },
      };
    }
    return out;
  }
}
