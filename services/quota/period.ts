// Quotas count per period: one UTC day. A period is named by its date, so that PostgreSQL rows and
// Redis keys of a new day start from zero without any reset job.

const DAY_MS = 86_400_000;

export interface Period {
  /** `2026-05-01` */
  name: string;
  /** Milliseconds since the epoch at which the next period starts. */
  endsAt: number;
}

export function periodOf(at: number): Period {
  const start = Math.floor(at / DAY_MS) * DAY_MS;
  return { name: new Date(start).toISOString().slice(0, 10), endsAt: start + DAY_MS };
}

/** Whole seconds until the period ends, at least 1, as `Retry-After` gives them. */
export function secondsLeft(period: Period, now: number): number {
  return Math.max(1, Math.ceil((period.endsAt - now) / 1000));
}
