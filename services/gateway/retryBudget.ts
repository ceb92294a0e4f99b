/**
 * Caps retries at a share of the live request rate, so that a struggling service gets at most
 * `percent`% more load from retries instead of a retry storm. Counts live in one-second buckets
 * over a sliding window; a small floor lets a quiet gateway still retry.
 */
export class RetryBudget {
  private readonly buckets: Array<{ second: number; requests: number; retries: number }>;
  private readonly percent: number;
  private readonly minPerWindow: number;
  private readonly now: () => number;

  constructor(opts: {
    percent: number;
    windowSeconds?: number;
    minPerWindow?: number;
    now?: () => number;
  }) {
    this.percent = opts.percent;
    this.minPerWindow = opts.minPerWindow ?? 10;
    this.now = opts.now ?? Date.now;
    this.buckets = Array.from({ length: opts.windowSeconds ?? 10 }, () => ({
      second: -1,
      requests: 0,
      retries: 0,
    }));
  }

  private bucket() {
    const second = Math.floor(this.now() / 1000);
    const b = this.buckets[second % this.buckets.length]!;
    if (b.second !== second) Object.assign(b, { second, requests: 0, retries: 0 });
    return b;
  }

  private totals() {
    const oldest = Math.floor(this.now() / 1000) - this.buckets.length;
    let requests = 0;
    let retries = 0;
    for (const b of this.buckets) {
      if (b.second > oldest) {
        requests += b.requests;
        retries += b.retries;
      }
    }
    return { requests, retries };
  }

  recordRequest(): void {
    this.bucket().requests++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    const { requests, retries } = this.totals();
    if (retries >= Math.max(this.minPerWindow, (requests * this.percent) / 100)) return false;
    this.bucket().retries++;
    return true;
  }
}
