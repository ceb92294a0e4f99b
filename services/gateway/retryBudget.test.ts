import { RetryBudget } from "./retryBudget.ts";

describe("retry budget", () => {
  let now = 1_000_000;
  const clock = () => now;

  test("allows the floor, then at most the percentage of live requests", () => {
    const budget = new RetryBudget({ percent: 20, minPerWindow: 2, now: clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (budget.tryRetry()) allowed++;
    expect(allowed).toBe(20);
  });

  test("a quiet gateway still gets the floor", () => {
    const budget = new RetryBudget({ percent: 20, minPerWindow: 3, now: clock });
    budget.recordRequest();
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  test("spent retries come back when the window slides past them", () => {
    const budget = new RetryBudget({ percent: 0, minPerWindow: 1, windowSeconds: 10, now: clock });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    now += 10_000;
    expect(budget.tryRetry()).toBe(true);
  });
});
