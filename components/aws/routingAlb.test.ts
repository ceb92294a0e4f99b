import { runProgram } from "../../infra/mock/harness.ts";
import { mockArn } from "../../infra/mock/mocks.ts";
import { RoutingAlb } from "./routingAlb.ts";

// The edge's version pins must not reach further than the gateways' (issue #13, finding 13): a
// drained version (weight 0) is for admins, whom a listener rule cannot tell from anyone.

test("a drained version gets no x-api-version pin at the ALB", async () => {
  const tg = (n: string) => mockArn("aws:lb/targetGroup:TargetGroup", n);
  const run = await runProgram({
    stack: "dev",
    program: () => {
      const alb = new RoutingAlb("drained", {
        vpcId: "vpc-1",
        vpcCidrBlock: "10.0.0.0/16",
        subnetIds: ["subnet-a", "subnet-b"],
        routes: [
          {
            prefix: "/v1/orders",
            targets: [
              { version: "v1", weight: 100, targetGroupArn: tg("blue") },
              { version: "v2", weight: 0, targetGroupArn: tg("green") },
            ],
          },
        ],
        defaultTargetGroupArn: tg("blue"),
        targetPort: 8080,
        tags: { project: "p", stack: "dev" },
      });
      return { url: alb.url, endpoints: alb.url.apply((url): Record<string, string> => ({ url })) };
    },
  });
  const pins = run.records
    .byType("aws:lb/listenerRule:ListenerRule")
    .flatMap((r) => JSON.stringify(r.inputs["conditions"]).match(/"values":\["v\d"\]/g) ?? []);
  expect(pins).toEqual(['"values":["v1"]']);
});
