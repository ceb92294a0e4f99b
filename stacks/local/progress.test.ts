import { readinessProgress } from "./progress.ts";
import type { ProcessSpec } from "./topology.ts";

const spec = (name: string): ProcessSpec => ({
  name,
  tier: "service",
  script: "",
  port: 0,
  env: {},
});

test("a line per group once all its replicas are ready, naming the last groups waited for", () => {
  const names = ["orders-1", "orders-2", "orders-v2-1", "identity-gateway-1", "router-1"];
  const lines: string[] = [];
  const onReady = readinessProgress(
    names.map(spec),
    (l) => lines.push(l),
    () => 1.25,
  );

  onReady("orders-1");
  expect(lines).toEqual([]);
  onReady("orders-2");
  onReady("router-1");
  onReady("orders-v2-1");
  onReady("identity-gateway-1");

  expect(lines).toEqual([
    "  orders ready (2) · 2/5 processes, 1.3 s · waiting for orders-v2, identity-gateway, router",
    "  router ready (1) · 3/5 processes, 1.3 s · waiting for orders-v2, identity-gateway",
    "  orders-v2 ready (1) · 4/5 processes, 1.3 s · waiting for identity-gateway",
    "  identity-gateway ready (1) · 5/5 processes, 1.3 s",
  ]);
});
