import { IsolatedNamespace } from "./isolatedNamespace.ts";
import { recordComponents } from "../../test/plan/harness.ts";

// A namespace that denies by default, under Pulumi's mocks.

it("enforces the restricted standard and denies all traffic but DNS", async () => {
  const records = await recordComponents(
    () => new IsolatedNamespace("shop", { labels: { team: "a" } }),
    "k8s",
  );
  const ns = records.one("kubernetes:core/v1:Namespace", "shop").inputs as {
    metadata: { labels: Record<string, string> };
  };
  expect(ns.metadata.labels).toMatchObject({
    team: "a",
    "pod-security.kubernetes.io/enforce": "restricted",
  });
  const deny = records.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-default-deny")
    .inputs as { spec: Record<string, unknown> };
  expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  const dns = records.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-allow-dns")
    .inputs as { spec: { egress: { ports: { port: number }[] }[]; policyTypes: string[] } };
  expect(dns.spec.policyTypes).toEqual(["Egress"]);
  expect(dns.spec.egress.flatMap((r) => r.ports.map((p) => p.port))).toEqual([53, 53]);
  const component = records.one("platform:kubernetes:IsolatedNamespace", "shop");
  expect(records.childrenOf(component)).toHaveLength(3);
});
