import { enginePlan, inCi } from "./engine.ts";

test("CI counts as set for the values CI systems use, not for empty, 0 or false", () => {
  expect(["true", "1", "TRUE", "yes"].map((v) => inCi({ CI: v }))).toEqual([
    true,
    true,
    true,
    true,
  ]);
  expect([undefined, "", "0", "false", " False "].map((v) => inCi({ CI: v }))).toEqual([
    false,
    false,
    false,
    false,
    false,
  ]);
});

test("the image tests run on an engine, start one in CI, and skip with the reason elsewhere", () => {
  expect(enginePlan(true, false)).toEqual({ mode: "run" });
  expect(enginePlan(true, true)).toEqual({ mode: "run" });
  expect(enginePlan(false, true)).toEqual({ mode: "start" });
  const skip = enginePlan(false, false);
  expect(skip.mode).toBe("skip");
  expect(skip.mode === "skip" && skip.reason).toContain("scripts/docker/dockerd.sh");
});
