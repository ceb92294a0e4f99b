import { recordComponents } from "../../test/plan/harness.ts";
import type { RoutingAlbArgs } from "./routingAlb.ts";
import { RoutingAlb, noRouteBody } from "./routingAlb.ts";

// The RoutingAlb component on its own, under the mocks: the load balancer, its security group,
// listeners and target groups, over its AlbAccessLogs, AlbListenerRules and, when asked,
// AlbCertificate and WebFirewall. stacks/awsEdge.test.ts checks the edge against the catalog.

const args = (over: Partial<RoutingAlbArgs> = {}): RoutingAlbArgs => ({
  vpcId: "vpc-1",
  vpcCidrBlock: "10.0.0.0/16",
  subnetIds: ["subnet-a", "subnet-b"],
  targets: { api: { name: "edge-api-tg" } },
  routes: [{ prefix: "/v1/orders", target: "api" }],
  defaultTarget: "api",
  targetPort: 8080,
  tags: { project: "p" },
  ...over,
});

test("plain HTTP: port 80 in from anywhere, the target port out to the VPC, a JSON 404 by default", async () => {
  const records = await recordComponents(() => new RoutingAlb("edge", args()));
  const ingress = records.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
  expect(ingress.map((r) => [r.name, r.inputs["cidrIpv4"], r.inputs["fromPort"]])).toEqual([
    ["edge-in-80", "0.0.0.0/0", 80],
  ]);
  expect(
    records.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "edge-out").inputs,
  ).toMatchObject({ cidrIpv4: "10.0.0.0/16", fromPort: 8080, toPort: 8080 });
  expect(records.one("aws:lb/loadBalancer:LoadBalancer", "edge-alb").inputs).toMatchObject({
    internal: false,
    dropInvalidHeaderFields: true,
    desyncMitigationMode: "strictest",
    enableDeletionProtection: true,
    idleTimeout: 60,
    accessLogs: { bucket: "edge-alb-logs", prefix: "alb", enabled: true },
  });
  expect(records.one("aws:lb/listener:Listener", "edge-http").inputs["defaultActions"]).toEqual([
    {
      type: "fixed-response",
      fixedResponse: {
        contentType: "application/json",
        statusCode: "404",
        messageBody: noRouteBody,
      },
    },
  ]);
  expect(records.byType("aws:lb/listener:Listener")).toHaveLength(1);
  expect(records.byType("platform:aws:WebFirewall")).toEqual([]);
});

/** The ALB with its own domain name and the firewall: every part it can have. */
const withDomain = () =>
  recordComponents(
    () =>
      new RoutingAlb(
        "edge",
        args({
          domain: { name: "api.example.com", hostedZoneId: "Z123456" },
          waf: { rateLimit: 2000 },
        }),
      ),
  );

test("with a domain: its certificate, HTTPS on 443, 80 redirected, and the name pointed at the ALB", async () => {
  const records = await withDomain();
  expect(records.one("aws:lb/listener:Listener", "edge-https").inputs).toMatchObject({
    port: 443,
    protocol: "HTTPS",
    sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
  });
  expect(records.one("aws:lb/listener:Listener", "edge-http").inputs["defaultActions"]).toEqual([
    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
  ]);
  expect(records.one("aws:route53/record:Record", "edge-alias").inputs).toMatchObject({
    zoneId: "Z123456",
    name: "api.example.com",
    type: "A",
  });
  // The listener rules forward on the HTTPS listener.
  for (const rule of records.byType("aws:lb/listenerRule:ListenerRule"))
    expect(rule.inputs["listenerArn"]).toBe(
      "arn:aws:lb:us-east-1:123456789012:listener/edge-https",
    );
});

test("owns the target groups, checked on /readyz, draining as long as the targets do", async () => {
  const records = await recordComponents(
    () =>
      new RoutingAlb("edge", args({ targets: { api: { name: "edge-api-tg", drainSeconds: 12 } } })),
  );
  expect(records.one("aws:lb/targetGroup:TargetGroup", "edge-api-tg").inputs).toMatchObject({
    targetType: "ip",
    port: 8080,
    deregistrationDelay: 12,
    slowStart: 30,
    healthCheck: { path: "/readyz", matcher: "200" },
  });
});

test("the resources it declared itself before its parts were components keep their state", async () => {
  const records = await withDomain();
  const alb = records.one("platform:aws:RoutingAlb", "edge");
  const parts = records.childrenOf(alb).filter((r) => r.type.startsWith("platform:"));
  expect(parts.map((p) => p.type).sort()).toEqual([
    "platform:aws:AlbAccessLogs",
    "platform:aws:AlbCertificate",
    "platform:aws:AlbListenerRules",
    "platform:aws:WebFirewall",
  ]);
  for (const r of parts.flatMap((p) => records.childrenOf(p))) {
    const former = `urn:pulumi:dev::platform::platform:aws:RoutingAlb$${r.type}::${r.name}`;
    expect([r.name, r.aliases]).toEqual([r.name, expect.arrayContaining([former])]);
  }
});
