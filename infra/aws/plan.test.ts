import { defaultCatalog } from "../../platform/catalog/default.ts";
import {
  catalog,
  domains,
  keyService,
  routingRules,
  services,
  validateCatalog,
} from "../../platform/catalog/index.ts";
import { reachability, workloadKey } from "../../platform/catalog/reachability.ts";
import { workloadName } from "../../platform/names.ts";
import { envKey } from "../../platform/runtimeEnv.ts";
import { ordersCanary } from "../../test/support/catalogVariants.ts";
import { parseSettings } from "../stackConfig.ts";
import { adminBootstrapCommand, planAws } from "./plan.ts";
import { rdsCaBundle } from "./workloads.ts";

// The AWS target's plan, as plain data: no Pulumi, no mocks. stacks/aws.test.ts and the other
// stacks/aws*.test.ts check that the stack builds it.

const settings = parseSettings({});
const plan = planAws(catalog, settings, "dev");
const byLabel = new Map(plan.workloads.map((w) => [w.label, w]));
const workload = (label: string) => {
  const w = byLabel.get(label);
  if (!w) throw new Error(`no workload ${label}`);
  return w;
};

describe("the AWS plan", () => {
  it("runs every tier and every version of every service, under the platform's names", () => {
    const expected = [
      ...domains(catalog).map((d) => workloadName.tier(d.name)),
      ...services(catalog).flatMap((s) =>
        s.versions.map((v) => workloadName.service(s.name, v.name)),
      ),
    ];
    expect(plan.workloads.map((w) => w.label)).toEqual(expected);
    const canary = planAws(ordersCanary(), settings, "dev");
    expect(canary.workloads.map((w) => w.name)).toEqual(
      expect.arrayContaining(["platform-orders", "platform-orders-v2"]),
    );
  });

  it("sizes each workload by the catalog and scales it to maxScaleFactor times that", () => {
    const factor = parseSettings({ maxScaleFactor: "2" });
    const orders = catalog.services["orders"]!;
    expect(
      planAws(catalog, factor, "dev").workloads.find((w) => w.label === "orders"),
    ).toMatchObject({
      program: "services/orders/main.ts",
      replicas: orders.replicas,
      maxReplicas: orders.replicas * 2,
      cpu: orders.cpu,
      memory: orders.memory,
    });
    const tier = catalog.domains["identity"]!.gateway;
    expect(workload("gateway-identity")).toMatchObject({
      program: "services/gateway/main.ts",
      replicas: tier.replicas,
      cpu: tier.cpu,
    });
  });

  it("leaves only the stores' and the buckets' addresses to deploy time, by what they are", () => {
    expect(workload("orders").deployEnv).toEqual({
      [envKey.databaseUrl]: { from: "databaseUrl", domain: "business", service: "orders" },
      [envKey.kafkaBrokers]: { from: "kafkaBrokers", domain: "business" },
    });
    expect(workload("orders").env).toMatchObject({
      [envKey.databaseAuth]: "aws-iam",
      [envKey.extraCaCerts]: rdsCaBundle.file,
      [envKey.kafkaAuth]: "aws-iam",
      [envKey.databasePoolMax]: String(plan.domains.find((d) => d.domain === "business")!.poolMax),
    });
    expect(workload("storage").deployEnv).toMatchObject({
      [envKey.blobBucket]: { from: "blobBucket", service: "storage" },
      [envKey.awsRegion]: { from: "region" },
    });
    expect(workload("gateway-identity").deployEnv).toEqual({
      [envKey.redisUrl]: { from: "redisUrl", domain: "identity" },
      [envKey.kafkaBrokers]: { from: "kafkaBrokers", domain: "identity" },
    });
    // A workload that uses no store is told of none, and no value is half known.
    expect(workload("inference").deployEnv).toEqual({});
    for (const w of plan.workloads)
      for (const value of Object.values(w.env)) expect(value).not.toContain("\u0000");
  });

  it("gives every workload its peers' Cloud Map names, as the env contract says", () => {
    expect(workload("gateway-business").env[envKey.upstream("orders")]).toBe(
      `http://orders.${plan.namespace}:${plan.port}`,
    );
    expect(workload("gateway-business").env[envKey.authUrl]).toBe(
      `http://gateway-identity.${plan.namespace}:${plan.port}`,
    );
  });

  it("hands secrets by kind: tiers the operators' token, services only the principal key", () => {
    expect(workload("gateway-identity").secrets).toEqual([
      "redisPassword",
      "adminToken",
      "principalSecret",
    ]);
    expect(workload("orders").secrets).toEqual(["principalSecret"]);
    expect(workload("chat").secrets).toEqual(["redisPassword", "principalSecret"]);
    expect(workload("monitoring")).toMatchObject({
      secrets: ["principalSecret", "adminToken"],
      execCommand: true,
    });
    const writers = plan.workloads.filter((w) => w.writesAdminBootstrap).map((w) => w.label);
    const keys = keyService(catalog);
    expect(writers).toEqual(keys.versions.map((v) => workloadName.service(keys.name, v.name)));
  });

  it("opens exactly the statement's connections: the ALB to tiers, tiers to services, the rest by rule", () => {
    const keyOf = new Map(plan.workloads.map((w) => [w.name, workloadKey(w.workload)]));
    const opened = new Set<string>();
    for (const w of plan.workloads) {
      const from = "alb" in w.admits ? "router" : keyOf.get(w.admits.tier)!;
      opened.add(`${from} -> ${workloadKey(w.workload)}`);
    }
    for (const rule of plan.ingress) opened.add(`${keyOf.get(rule.from)} -> ${keyOf.get(rule.to)}`);
    // Monitoring scrapes the router's ops port where a router runs; on AWS the ALB routes.
    const statement = reachability(catalog)
      .filter((e) => e.to.kind !== "router")
      .map((e) => `${workloadKey(e.from)} -> ${workloadKey(e.to)}`);
    expect([...opened].sort()).toEqual([...new Set(statement)].sort());
    expect(new Set(plan.ingress.map((r) => r.name)).size).toBe(plan.ingress.length);
  });

  it("routes every catalog prefix to its domain's target group, /v1/* to the default domain", () => {
    expect(plan.alb.routes).toEqual(
      routingRules(catalog).map((r) => ({ prefix: r.prefix, target: r.domain })),
    );
    expect(plan.alb.targets.map((t) => [t.domain, t.name])).toEqual(
      domains(catalog).map((d) => [d.name, `platform-gw-${d.name}-tg`]),
    );
    expect(plan.alb.defaultTarget).toBe(catalog.defaultDomain);
    expect(plan.alb.waf).toEqual({ rateLimit: settings.wafRateLimit });
    expect(planAws(catalog, parseSettings({ waf: "false" }), "dev").alb.waf).toBeUndefined();
  });

  it("warns when a domain's PostgreSQL clients cannot fit its instance", () => {
    expect(plan.domains.every((d) => d.poolWarning === undefined)).toBe(true);
    const onMicro = validateCatalog({
      ...defaultCatalog,
      domains: {
        ...defaultCatalog.domains,
        business: {
          ...defaultCatalog.domains["business"]!,
          data: { postgres: { instanceClass: "db.t4g.micro" } },
        },
      },
    });
    const warned = planAws(onMicro, settings, "dev").domains.find((d) => d.domain === "business")!;
    expect(warned.poolWarning).toMatch(/catalog.domains.business.data.postgres.instanceClass/);
  });

  it("refuses settings that name fewer zones than the catalog spans", () => {
    const threeZones = validateCatalog({ ...defaultCatalog, zones: 3 });
    const twoNamed = parseSettings({ availabilityZones: "use1-az1,use1-az2" });
    expect(() => planAws(threeZones, twoNamed, "dev")).toThrow(
      /lists 2 zones but catalog.zones is 3/,
    );
  });

  it("writes the admin bootstrap as one run-task command in the service's network", () => {
    const command = adminBootstrapCommand(
      "c",
      {
        taskDefinitionArn: "td",
        containerName: "app",
        subnetIds: ["s1", "s2"],
        securityGroupIds: ["g"],
      },
      "arn:secret",
    );
    expect(command).toBe(
      "aws ecs run-task --cluster c --launch-type FARGATE --task-definition td " +
        "--network-configuration 'awsvpcConfiguration={subnets=[s1,s2],securityGroups=[g],assignPublicIp=DISABLED}' " +
        `--overrides '{"containerOverrides":[{"name":"app","command":["services/auth/createAdminKey.ts","--secret-id","arn:secret"]}]}'`,
    );
  });
});
