// The circuit breaker of one upstream (ServiceClient), as cockatiel's consecutive breaker with
// one half-open probe behaved, without its per-call executor: a closed breaker costs a state
// check before the call and a counter after it, no promise of its own (bench/README.md).
//
// Closed: `failuresToOpen` failed calls in a row open it. Open: calls fail at once with
// `BrokenCircuitError` for `halfOpenMs`; the first call after that is a probe (half-open), and
// the calls that come while it runs wait for its outcome. A probe that succeeds, or fails in a way
// that does not count against the upstream, closes the breaker; one that fails opens it again.

export class BrokenCircuitError extends Error {
  constructor(message = "Execution prevented because the circuit breaker is open") {
    super(message);
    this.name = "BrokenCircuitError";
  }
}

/** The breaker's states, numbered as the `gateway_breaker_state` gauge shows them. */
export const BreakerState = { Closed: 0, Open: 1, HalfOpen: 2 } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

/** How a call ended, for the breaker: only a `failure` counts against the upstream. */
export type Outcome = "success" | "failure" | "neutral";

/** What `enter` admitted: a call while closed, or the probe of one half-open period. */
export type Ticket = number;

const CLOSED_TICKET = 0;

export class Breaker {
  private readonly failuresToOpen: number;
  private readonly halfOpenMs: number;
  private readonly changed: (state: BreakerState) => void;
  private readonly now: () => number;
  private current: BreakerState = BreakerState.Closed;
  private failures = 0;
  private openedAt = 0;
  /** Half-open periods so far: a probe's ticket, so that a late outcome of an old one is ignored. */
  private period = 0;
  private probeDone: Promise<void> | undefined;
  private endProbe: (() => void) | undefined;

  constructor(
    failuresToOpen: number,
    halfOpenMs: number,
    changed: (state: BreakerState) => void,
    now: () => number = Date.now,
  ) {
    this.failuresToOpen = failuresToOpen;
    this.halfOpenMs = halfOpenMs;
    this.changed = changed;
    this.now = now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /**
   * Admits a call, or throws `BrokenCircuitError` while open. During a probe, resolves once the
   * probe has decided, with what the breaker then says.
   */
  enter(): Ticket | Promise<Ticket> {
    switch (this.current) {
      case BreakerState.Closed:
        return CLOSED_TICKET;
      case BreakerState.Open:
        if (this.now() - this.openedAt < this.halfOpenMs) throw new BrokenCircuitError();
        this.current = BreakerState.HalfOpen;
        this.period++;
        this.probeDone = new Promise((done) => (this.endProbe = done));
        this.changed(BreakerState.HalfOpen);
        return this.period;
      case BreakerState.HalfOpen:
        return this.probeDone!.then(() => this.enter());
    }
  }

  /** The outcome of a call `enter` admitted. */
  settle(ticket: Ticket, outcome: Outcome): void {
    if (ticket === CLOSED_TICKET) {
      if (outcome === "success") this.failures = 0;
      else if (outcome === "failure" && ++this.failures >= this.failuresToOpen) this.open();
      return;
    }
    // A probe of a period that is over (the breaker moved on without it) decides nothing.
    if (this.current !== BreakerState.HalfOpen || ticket !== this.period) return;
    if (outcome === "failure") return this.open();
    this.failures = 0;
    this.current = BreakerState.Closed;
    this.decided();
    this.changed(BreakerState.Closed);
  }

  private open(): void {
    if (this.current === BreakerState.Open) return;
    const wasProbing = this.current === BreakerState.HalfOpen;
    this.current = BreakerState.Open;
    this.openedAt = this.now();
    if (wasProbing) this.decided();
    this.changed(BreakerState.Open);
  }

  private decided(): void {
    this.endProbe?.();
    this.endProbe = undefined;
    this.probeDone = undefined;
  }
}
