import { catalog } from "../platform/catalog/index.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { mockArn, mockRandomPassword } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { secretMark } from "../test/plan/records.ts";
import { ordersCanary } from "../test/support/catalogVariants.ts";

// dev and prod are the same program with different Pulumi.<stack>.yaml files: the differences
// between their graphs must be exactly the ones their configuration asks for, nothing more.

let dev: RunResult;
let prod: RunResult;
beforeAll(async () => {
  // One at a time: the mock engine is global to the process.
  dev = await runProgram({ stack: "dev", secrets: {} });
  prod = await runProgram({ stack: "prod", secrets: {} });
});

const key = (r: ResourceRecord) => `${r.type} ${r.name}`;

/** Inputs with the stack's own name taken out of tags and URNs, so only real settings differ. */
function normalised(r: ResourceRecord): Record<string, unknown> {
  return JSON.parse(JSON.stringify(r.inputs).replace(/"stack":"(dev|prod)"/g, '"stack":"*"'));
}

test("prod adds exactly its NAT gateways, HTTPS (certificate, DNS, listener), the WAF and its log, and nothing else", () => {
  const devKeys = new Set(dev.records.all.map(key));
  const prodKeys = new Set(prod.records.all.map(key));
  const onlyProd = [...prodKeys].filter((k) => !devKeys.has(k)).sort();
  const onlyDev = [...devKeys].filter((k) => !prodKeys.has(k)).sort();
  expect(onlyDev).toEqual([]);
  expect(onlyProd).toEqual(
    [
      "aws:acm/certificate:Certificate platform-cert",
      "aws:acm/certificateValidation:CertificateValidation platform-cert",
      "aws:ec2/eip:Eip platform-1-nat",
      "aws:ec2/natGateway:NatGateway platform-1-nat",
      "aws:lb/listener:Listener platform-https",
      "aws:route53/record:Record platform-alias",
      "aws:route53/record:Record platform-cert-validation",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule platform-in-443",
      "aws:wafv2/webAcl:WebAcl platform-waf",
      "aws:wafv2/webAclAssociation:WebAclAssociation platform-waf",
      "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration platform-waf",
      "aws:cloudwatch/logGroup:LogGroup platform-waf-logs",
      "platform:aws:AlbCertificate platform",
      "platform:aws:WebFirewall platform",
    ].sort(),
  );
});

test("shared resources differ only in the settings prod hardens", () => {
  const prodByKey = new Map(prod.records.all.map((r) => [key(r), r]));
  const changed: string[] = [];
  for (const d of dev.records.all) {
    const p = prodByKey.get(key(d));
    if (!p) continue;
    const a = normalised(d);
    const b = normalised(p);
    for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[field]) !== JSON.stringify(b[field]))
        changed.push(`${d.type.split(":").pop()}.${field}`);
    }
  }
  expect([...new Set(changed)].sort()).toEqual(
    [
      // deletion protection (and the ALB's logs then survive a destroy)
      "Instance.deletionProtection",
      "LoadBalancer.enableDeletionProtection",
      "Bucket.forceDestroy",
      "Repository.forceDelete",
      // multi-AZ database
      "Instance.multiAz",
      // account-wide names carry the stack, so two stacks in one account never share one
      "Dashboard.dashboardName",
      "TaskDefinition.family",
      // ... such as the ECS Exec transcript group, which the cluster and its key name
      "LogGroup.name",
      "Cluster.configuration",
      "Key.policy",
      // ... and each database, whose identifier names the group it logs to
      "Instance.identifier",
      "RandomId.keepers",
      // log retention 14 -> 90 days, for every log group and the access logs
      "LogGroup.retentionInDays",
      "BucketLifecycleConfiguration.rules",
      // the second zone's private subnets route through their own NAT gateway
      "RouteTable.routes",
      // HTTP now redirects, and the rules hang off the HTTPS listener
      "Listener.defaultActions",
      "ListenerRule.listenerArn",
    ].sort(),
  );
});

test("the config values land where they should", () => {
  const one = (run: RunResult, type: string) => run.records.byType(type)[0]!;
  const rds = "aws:rds/instance:Instance";
  expect(one(dev, rds).inputs).toMatchObject({ multiAz: false, deletionProtection: false });
  expect(one(prod, rds).inputs).toMatchObject({ multiAz: true, deletionProtection: true });
  expect(prod.records.byType("aws:ec2/natGateway:NatGateway")).toHaveLength(catalog.zones);
  const http = prod.records.one("aws:lb/listener:Listener", "platform-http");
  expect(http.inputs["defaultActions"]).toEqual([
    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
  ]);
  expect(prod.records.one("aws:lb/listener:Listener", "platform-https").inputs).toMatchObject({
    protocol: "HTTPS",
    certificateArn: mockArn("aws:acm/certificate:Certificate", "platform-cert"),
  });
  expect(prod.outputs.url).toBe("https://api.example.com");
  const waf = prod.records.one("aws:wafv2/webAcl:WebAcl", "platform-waf");
  expect(JSON.stringify(waf.inputs["rules"])).toContain('"limit":2000');
});

test("Redis tokens are generated per domain and reach state only as secrets", () => {
  const tokens = dev.records
    .byType("random:index/randomPassword:RandomPassword")
    .filter((r) => r.name.endsWith("-redis-auth"));
  expect(tokens).toHaveLength(Object.keys(catalog.domains).length);
  for (const r of dev.records.byType("aws:elasticache/replicationGroup:ReplicationGroup"))
    expect(r.inputs["authToken"]).toBe(secretMark);
  for (const r of dev.records.byType("aws:secretsmanager/secretVersion:SecretVersion"))
    expect(r.inputs["secretString"]).toBe(secretMark);
  expect(JSON.stringify(dev.records.all)).not.toContain(mockRandomPassword);
});

test("serverless Kafka replaces the brokers and keeps IAM auth", async () => {
  const run = await runProgram({
    stack: "dev",
    secrets: {},
    config: { "platform:kafka": "serverless" },
  });
  expect(run.records.byType("aws:msk/cluster:Cluster")).toEqual([]);
  const clusters = run.records.byType("aws:msk/serverlessCluster:ServerlessCluster");
  expect(clusters).toHaveLength(Object.keys(catalog.domains).length);
  for (const c of clusters) {
    expect(c.inputs["clientAuthentication"]).toEqual({ sasl: { iam: { enabled: true } } });
    expect(run.records.zonesOf(c)).toHaveLength(catalog.zones);
  }
});

test("a canary: orders v2 runs as its own service, and the gateway knows both versions", async () => {
  const canary = ordersCanary();
  const run = await runProgram({ stack: "dev", secrets: {}, catalog: canary });
  const env = (name: string) => {
    const td = run.records.one("aws:ecs/taskDefinition:TaskDefinition", `${name}-task`);
    const [c] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
      environment: { name: string; value: string }[];
    }[];
    return Object.fromEntries(c!.environment.map((e) => [e.name, e.value]));
  };
  expect(env("platform-orders")["SERVICE_VERSION"]).toBe("v1");
  expect(env("platform-orders-v2")["SERVICE_VERSION"]).toBe("v2");
  expect(
    run.records.one("aws:servicediscovery/service:Service", "platform-orders-v2-discovery").inputs[
      "name"
    ],
  ).toBe("orders-v2");
  expect(Object.values(env("platform-gw-business"))).toEqual(
    expect.arrayContaining([
      "http://orders.platform.internal:8080",
      "http://orders-v2.platform.internal:8080",
    ]),
  );
  const sources = run.records
    .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.name.startsWith("platform-orders-v2-from-"))
    .map((r) => r.inputs["referencedSecurityGroupId"]);
  expect(sources).toEqual(["securitygroup-platform-gw-business-sg"]);
});

test("with a canary the ALB still routes by path alone: the gateways split and pin versions", async () => {
  const run = await runProgram({ stack: "dev", secrets: {}, catalog: ordersCanary() });
  const rules = run.records.byType("aws:lb/listenerRule:ListenerRule");
  expect(rules.length).toBeGreaterThan(1);
  for (const rule of rules) {
    // A weighted forward or an `x-api-version` pin here would bypass the gateway's version
    // router, which keeps drained versions for admins (issue #13, finding 13).
    expect(JSON.stringify(rule.inputs["actions"])).not.toContain("weight");
    expect(JSON.stringify(rule.inputs["conditions"])).not.toContain("httpHeader");
    expect(rule.inputs["actions"]).toEqual([
      { type: "forward", targetGroupArn: expect.any(String) },
    ]);
  }
});
