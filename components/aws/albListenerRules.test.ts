import { recordComponents } from "../../test/plan/harness.ts";
import { AlbListenerRules } from "./albListenerRules.ts";

// The AlbListenerRules component on its own, under the mocks.

const rules = (routes: { prefix: string; target: string }[], defaultTarget = "business") =>
  recordComponents(
    () =>
      new AlbListenerRules("edge", {
        listenerArn: "arn:listener",
        targetGroupArns: { identity: "arn:tg-identity", business: "arn:tg-business" },
        routes,
        defaultTarget,
        tags: { project: "p" },
      }),
  );

test("each prefix and everything below it to its target, in order, then /v1/* to the default", async () => {
  const records = await rules([
    { prefix: "/v1/auth", target: "identity" },
    { prefix: "/v1/orders", target: "business" },
  ]);
  // Registration order is the engine's; the priorities give the evaluation order.
  const byPriority = records
    .byType("aws:lb/listenerRule:ListenerRule")
    .sort((a, b) => Number(a.inputs["priority"]) - Number(b.inputs["priority"]));
  const summary = byPriority.map((r) => {
    const { priority, conditions, actions, tags } = r.inputs as {
      priority: number;
      conditions: { pathPattern: { values: string[] } }[];
      actions: { type: string; targetGroupArn: string }[];
      tags: Record<string, string>;
    };
    expect(r.inputs["listenerArn"]).toBe("arn:listener");
    expect(actions.map((a) => a.type)).toEqual(["forward"]);
    return [r.name, priority, conditions[0]!.pathPattern.values, actions[0]!.targetGroupArn, tags];
  });
  expect(summary).toEqual([
    [
      "edge-route-1",
      10,
      ["/v1/auth", "/v1/auth/*"],
      "arn:tg-identity",
      { project: "p", route: "/v1/auth" },
    ],
    [
      "edge-route-2",
      20,
      ["/v1/orders", "/v1/orders/*"],
      "arn:tg-business",
      { project: "p", route: "/v1/orders" },
    ],
    ["edge-route-default", 50000, ["/v1/*"], "arn:tg-business", { project: "p", route: "/v1/*" }],
  ]);
});

test("a route to an unknown target refuses to deploy, naming it", async () => {
  await expect(rules([{ prefix: "/v1/x", target: "nowhere" }])).rejects.toThrow(
    'edge: a route names target "nowhere", which is not in targets',
  );
  await expect(rules([], "nowhere")).rejects.toThrow('target "nowhere"');
});
