import { Breaker, BreakerState, BrokenCircuitError, type Ticket } from "./breaker.ts";

function breaker(failuresToOpen = 3, halfOpenMs = 1_000) {
  let now = 0;
  const states: BreakerState[] = [];
  const b = new Breaker(
    failuresToOpen,
    halfOpenMs,
    (s) => states.push(s),
    () => now,
  );
  return { b, states, advance: (ms: number) => (now += ms) };
}

const enter = (b: Breaker): Ticket => {
  const t = b.enter();
  if (typeof t !== "number") throw new Error("expected an immediate ticket");
  return t;
};

test("consecutive failures open it; a success in between starts the count again", () => {
  const { b, states } = breaker(3);
  b.settle(enter(b), "failure");
  b.settle(enter(b), "failure");
  b.settle(enter(b), "success");
  b.settle(enter(b), "failure");
  b.settle(enter(b), "failure");
  expect(b.state).toBe(BreakerState.Closed);
  b.settle(enter(b), "failure");
  expect(b.state).toBe(BreakerState.Open);
  expect(states).toEqual([BreakerState.Open]);
  expect(() => b.enter()).toThrow(BrokenCircuitError);
});

test("an error that is not the upstream's counts neither way", () => {
  const { b } = breaker(2);
  b.settle(enter(b), "failure");
  b.settle(enter(b), "neutral");
  expect(b.state).toBe(BreakerState.Closed);
  b.settle(enter(b), "failure");
  expect(b.state).toBe(BreakerState.Open);
});

test("after halfOpenMs one probe goes; the calls meanwhile wait for its outcome", async () => {
  const { b, states, advance } = breaker(1, 1_000);
  b.settle(enter(b), "failure");
  advance(999);
  expect(() => b.enter()).toThrow(BrokenCircuitError);
  advance(1);
  const probe = enter(b);
  expect(b.state).toBe(BreakerState.HalfOpen);
  const waiting = b.enter();
  expect(waiting).toBeInstanceOf(Promise);
  b.settle(probe, "success");
  expect(typeof (await waiting)).toBe("number");
  expect(b.state).toBe(BreakerState.Closed);
  expect(states).toEqual([BreakerState.Open, BreakerState.HalfOpen, BreakerState.Closed]);
});

test("a probe that fails opens it again, and the waiting calls fail fast", async () => {
  const { b, advance } = breaker(1, 1_000);
  b.settle(enter(b), "failure");
  advance(1_000);
  const probe = enter(b);
  const waiting = b.enter();
  b.settle(probe, "failure");
  await expect(waiting).rejects.toBeInstanceOf(BrokenCircuitError);
  expect(b.state).toBe(BreakerState.Open);
});

test("a probe that ends in an error not the upstream's closes it", () => {
  const { b, advance } = breaker(1, 1_000);
  b.settle(enter(b), "failure");
  advance(1_000);
  b.settle(enter(b), "neutral");
  expect(b.state).toBe(BreakerState.Closed);
});
