import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ecsExecWritablePaths } from "../components/aws/fargateTaskDefinition.ts";
import { nodeBaseImage, rdsCaBundle } from "../infra/aws/workloads.ts";
import { IMAGE_DATA_DIR, entrypoint } from "../platform/runtimeEnv.ts";
import { catalog, domains, routingRules, services } from "../platform/catalog/index.ts";
import { RENDER_QUEUE_METRIC } from "../services/render/contract.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { mockSecrets, runProgram } from "../test/plan/harness.ts";
import { mockArn, mockEcrPassword } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { mockId, secretMark } from "../test/plan/records.ts";
import { ordersVersions } from "../test/support/catalogVariants.ts";

// Policy tests of the `dev` AWS graph under Pulumi's mocks: what the program would create,
// checked against the catalog and against the platform's security and resilience rules.

const T = {
  ecsService: "aws:ecs/service:Service",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  rds: "aws:rds/instance:Instance",
  rdsParams: "aws:rds/parameterGroup:ParameterGroup",
  redis: "aws:elasticache/replicationGroup:ReplicationGroup",
  msk: "aws:msk/cluster:Cluster",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  listenerRule: "aws:lb/listenerRule:ListenerRule",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  natGateway: "aws:ec2/natGateway:NatGateway",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
};

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

const field = (r: ResourceRecord, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], r.inputs);

describe("dev stack on AWS", () => {
  test("one ECS service per catalog service and per gateway tier, no router service", () => {
    const names = run.records
      .byType(T.ecsService)
      .map((s) => s.name)
      .sort();
    const expected = [
      ...services(catalog).map((s) => `${catalog.name}-${s.name}-service`),
      ...domains(catalog).map((d) => `${catalog.name}-gw-${d.name}-service`),
    ].sort();
    expect(names).toEqual(expected);
  });

  test("one RDS, one Redis and one MSK cluster per domain", () => {
    const n = domains(catalog).length;
    expect(run.records.byType(T.rds)).toHaveLength(n);
    expect(run.records.byType(T.redis)).toHaveLength(n);
    expect(run.records.byType(T.msk)).toHaveLength(n);
  });

  test("every tier and service runs >= 2 replicas over >= 2 zones, with rollback on failure", () => {
    const all = run.records.byType(T.ecsService);
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      expect({ name: s.name, desired: (field(s, "desiredCount") as number) >= 2 }).toEqual({
        name: s.name,
        desired: true,
      });
      expect({ name: s.name, zones: run.records.zonesOf(s).length >= 2 }).toEqual({
        name: s.name,
        zones: true,
      });
      expect(field(s, "deploymentCircuitBreaker")).toEqual({ enable: true, rollback: true });
      expect(field(s, "networkConfiguration", "assignPublicIp")).toBe(false);
    }
  });

  test("tasks run as a non-root user on a read-only root filesystem, logging to CloudWatch", () => {
    for (const td of run.records.byType(T.taskDefinition)) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as Record<
        string,
        unknown
      >[];
      expect(container).toMatchObject({ user: "10001:10001", readonlyRootFilesystem: true });
      // Writable only where the image declares its volumes (the Dockerfile's VOLUME): DATA_DIR,
      // where a program without PostgreSQL keeps its SQLite file, and /tmp.
      const mounts = container!["mountPoints"] as { sourceVolume: string; containerPath: string }[];
      // Operator workloads add the ECS Exec agent's own (stacks/adminToken.test.ts checks which).
      const paths = mounts.map((m) => m.containerPath);
      const agent = paths.some((p) => (ecsExecWritablePaths as readonly string[]).includes(p))
        ? ecsExecWritablePaths
        : [];
      expect(paths.sort()).toEqual([IMAGE_DATA_DIR, "/tmp", ...agent].sort());
      const volumes = (td.inputs["volumes"] as { name: string }[]).map((v) => v.name);
      expect(mounts.map((m) => m.sourceVolume).sort()).toEqual(volumes.sort());
      expect(container!["logConfiguration"]).toMatchObject({ logDriver: "awslogs" });
      expect(JSON.stringify(container!["healthCheck"])).toContain("/healthz");
    }
  });

  test("each task's command is its program's file, which the image's node entrypoint runs", () => {
    // ECS `command` replaces the image's CMD and keeps its ENTRYPOINT: a command that started
    // with "node" again would run `node node services/...` and every task would crash.
    expect(readFileSync("Dockerfile", "utf8")).toMatch(/^ENTRYPOINT \["node"\]$/m);
    const commands = run.records
      .byType(T.taskDefinition)
      .map(
        (td) =>
          (JSON.parse(String(td.inputs["containerDefinitions"])) as { command: string[] }[])[0]!
            .command,
      );
    const programs = ["gateway", ...services(catalog).map((s) => s.name)];
    expect(new Set(commands.map((c) => JSON.stringify(c)))).toEqual(
      new Set(programs.map((p) => JSON.stringify([entrypoint(p)]))),
    );
  });

  test("a service with queueScaling reports its depth where its second scaling policy reads it", () => {
    const queued = services(catalog).filter((s) => s.queueScaling);
    expect(queued.map((s) => [s.name, s.queueScaling!.metric])).toEqual([
      ["render", RENDER_QUEUE_METRIC],
    ]);
    const policies = run.records
      .byType("aws:appautoscaling/policy:Policy")
      .filter((p) => p.name.endsWith("-queue"));
    expect(policies).toHaveLength(1);
    const [waiting] = field(
      policies[0]!,
      "targetTrackingScalingPolicyConfiguration",
      "customizedMetricSpecification",
      "metrics",
    ) as {
      metricStat: { metric: { namespace: string; metricName: string; dimensions: unknown } };
    }[];
    expect(waiting!.metricStat.metric).toMatchObject({
      metricName: RENDER_QUEUE_METRIC,
      dimensions: [{ name: "Service", value: "render" }],
    });
    // The render task is told the same namespace; no other task reports a queue.
    for (const td of run.records.byType(T.taskDefinition)) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
        command: string[];
        environment: { name: string; value: string }[];
      }[];
      const namespace = container!.environment.find((e) => e.name === "QUEUE_METRIC_NAMESPACE");
      expect([container!.command[0], namespace?.value]).toEqual([
        container!.command[0],
        container!.command[0] === entrypoint("render")
          ? waiting!.metricStat.metric.namespace
          : undefined,
      ]);
    }
  });

  test("the ALB forwards each route of the catalog to its domain's gateway tier", () => {
    const rules = run.records.byType(T.listenerRule);
    const forwards = (rule: ResourceRecord) =>
      (field(rule, "actions") as { type: string; targetGroupArn: string }[])
        .filter((a) => a.type === "forward")
        .map((a) => a.targetGroupArn);
    const patterns = (rule: ResourceRecord) =>
      (field(rule, "conditions") as { pathPattern?: { values: string[] } }[]).flatMap(
        (c) => c.pathPattern?.values ?? [],
      );
    // The target group the tier's ECS service registers its tasks in.
    const tierTargetGroup = (domain: string) => {
      const below = (r: ResourceRecord): ResourceRecord[] =>
        run.records.childrenOf(r).flatMap((c) => [c, ...below(c)]);
      const tier = run.records.one("platform:aws:GatewayTier", `${catalog.name}-gw-${domain}`);
      const [service] = below(tier).filter((r) => r.type === "aws:ecs/service:Service");
      const [registered] = field(service!, "loadBalancers") as { targetGroupArn: string }[];
      const tg = run.records
        .byType(T.targetGroup)
        .find((r) => mockArn(r.type, r.name) === registered!.targetGroupArn);
      expect(tg?.name).toBe(`${catalog.name}-gw-${domain}-tg`);
      return registered!.targetGroupArn;
    };
    for (const route of routingRules(catalog)) {
      const arn = tierTargetGroup(route.domain);
      for (const pattern of [route.prefix, `${route.prefix}/*`]) {
        const match = rules.filter(
          (r) => patterns(r).includes(pattern) && forwards(r).includes(arn),
        );
        expect({ route: pattern, rules: match.length }).toEqual({ route: pattern, rules: 1 });
      }
    }
    const catchAll = rules.filter((r) => patterns(r).includes("/v1/*"));
    expect(catchAll.map(forwards)).toEqual([[tierTargetGroup(catalog.defaultDomain)]]);
    const priorities = rules.map((r) => field(r, "priority"));
    expect(new Set(priorities).size).toBe(rules.length);
    expect(Math.max(...(priorities as number[]))).toBe(field(catchAll[0]!, "priority"));
  });

  test("the ALB drops invalid headers and answers unknown paths with a JSON 404", () => {
    const [alb] = run.records.byType(T.loadBalancer);
    expect(field(alb!, "dropInvalidHeaderFields")).toBe(true);
    const listener = run.records.byType("aws:lb/listener:Listener")[0]!;
    expect(field(listener, "defaultActions")).toEqual([
      {
        type: "fixed-response",
        fixedResponse: {
          contentType: "application/json",
          statusCode: "404",
          messageBody:
            '{"error":{"message":"no route","type":"invalid_request_error","code":"route_not_found"}}',
        },
      },
    ]);
  });

  test("gateway tiers admit only the ALB, the tiers that verify keys and check quotas through them, the services whose `tierCalls` they serve, monitoring and the bridges", () => {
    const albSg = mockId({ type: T.sg, name: `${catalog.name}-sg` });
    const hosts = new Set(["auth", "quota"].map((s) => catalog.services[s]?.domain));
    for (const d of domains(catalog)) {
      const sg = mockId({ type: T.sg, name: `${catalog.name}-gw-${d.name}-sg` });
      const sources = run.records
        .byType(T.ingress)
        .filter((r) => field(r, "securityGroupId") === sg)
        .map((r) => field(r, "referencedSecurityGroupId") ?? field(r, "cidrIpv4"));
      const tiers = hosts.has(d.name)
        ? domains(catalog)
            .filter((x) => x.name !== d.name)
            .map((x) => mockId({ type: T.sg, name: `${catalog.name}-gw-${x.name}-sg` }))
        : [];
      const callers = services(catalog)
        .filter((s) => s.tierCalls.some((c) => catalog.services[c]!.domain === d.name))
        .map((s) => mockId({ type: T.sg, name: `${catalog.name}-${s.name}-sg` }));
      // And monitoring, which scrapes every tier and service (stacks/monitoringAws.test.ts),
      // and the bridges, which call each route through its tier (docs/mcp.md, docs/workflows.md).
      const monitor = mockId({ type: T.sg, name: `${catalog.name}-monitoring-sg` });
      const bridges = ["mcp", "workflows"].map((s) =>
        mockId({ type: T.sg, name: `${catalog.name}-${s}-sg` }),
      );
      expect([d.name, sources.sort()]).toEqual([
        d.name,
        [albSg, ...tiers, ...callers, monitor, ...bridges].sort(),
      ]);
    }
    // chat reports usage to quota through the identity tier, and reaches nothing else there.
    expect(catalog.services["chat"]!.tierCalls).toEqual(["quota"]);
  });

  test("a service admits its tier and the services that call it (catalog `calls`), nothing else", () => {
    const sgOf = (label: string) => mockId({ type: T.sg, name: `${catalog.name}-${label}-sg` });
    for (const s of services(catalog)) {
      const sources = run.records
        .byType(T.ingress)
        .filter((r) => field(r, "securityGroupId") === sgOf(s.name))
        .map((r) => field(r, "referencedSecurityGroupId"));
      const callers = services(catalog).filter((c) => c.calls.includes(s.name));
      expect([s.name, sources.sort()]).toEqual([
        s.name,
        [
          mockId({ type: T.sg, name: `${catalog.name}-gw-${s.domain}-sg` }),
          ...callers.map((c) => sgOf(c.name)),
          sgOf("monitoring"),
        ].sort(),
      ]);
    }
  });

  test("no RDS instance is publicly accessible; every one is encrypted, backed up and forces TLS", () => {
    for (const db of run.records.byType(T.rds)) {
      expect(field(db, "publiclyAccessible")).toBe(false);
      expect(field(db, "storageEncrypted")).toBe(true);
      expect(field(db, "manageMasterUserPassword")).toBe(true);
      expect(field(db, "password")).toBeUndefined();
      expect(field(db, "backupRetentionPeriod")).toBeGreaterThanOrEqual(1);
      const params = run.records
        .byType(T.rdsParams)
        .find((p) => p.name === field(db, "parameterGroupName"));
      expect(field(params!, "parameters")).toContainEqual(
        expect.objectContaining({ name: "rds.force_ssl", value: "1" }),
      );
    }
  });

  test("Redis and Kafka are encrypted at rest and in transit and span zones", () => {
    for (const r of run.records.byType(T.redis)) {
      expect(r.inputs).toMatchObject({
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        authToken: secretMark,
      });
      expect(field(r, "numCacheClusters")).toBeGreaterThanOrEqual(2);
    }
    for (const k of run.records.byType(T.msk)) {
      expect(field(k, "encryptionInfo", "encryptionInTransit")).toEqual({
        clientBroker: "TLS",
        inCluster: true,
      });
      expect(field(k, "encryptionInfo", "encryptionAtRestKmsKeyArn")).toMatch(/^arn:aws:kms:/);
      expect(field(k, "clientAuthentication", "unauthenticated")).toBe(false);
      expect(run.records.zonesOf(k).length).toBe(catalog.zones);
      expect(field(k, "numberOfBrokerNodes")).toBe(catalog.zones);
    }
  });

  test("data-store security groups admit only security groups, never an address range", () => {
    const storeGroups = [
      ...run.records.byType(T.rds).flatMap((r) => field(r, "vpcSecurityGroupIds") as string[]),
      ...run.records.byType(T.redis).flatMap((r) => field(r, "securityGroupIds") as string[]),
      ...run.records
        .byType(T.msk)
        .flatMap((r) => field(r, "brokerNodeGroupInfo", "securityGroups") as string[]),
    ];
    expect(storeGroups).toHaveLength(3 * domains(catalog).length);
    for (const id of storeGroups) {
      const sg = run.records.byType(T.sg).find((r) => mockId(r) === id)!;
      expect(field(sg, "ingress") ?? []).toEqual([]);
      const rules = run.records.byType(T.ingress).filter((r) => field(r, "securityGroupId") === id);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(field(rule, "cidrIpv4")).toBeUndefined();
        expect(field(rule, "cidrIpv6")).toBeUndefined();
        expect(field(rule, "referencedSecurityGroupId")).toEqual(expect.any(String));
      }
    }
  });

  test("no secret value appears in plain text in any recorded input", () => {
    const everything = JSON.stringify(run.records.all);
    for (const value of [...Object.values(mockSecrets), mockEcrPassword])
      expect(everything).not.toContain(value);
    for (const td of run.records.byType(T.taskDefinition)) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
        environment: { name: string; value: string }[];
      }[];
      for (const env of container!.environment) {
        // A secret's ARN names where the task reads it; it is no secret. Anything else whose
        // name sounds like a credential must come from Secrets Manager.
        if (env.name.endsWith("_SECRET_ARN"))
          expect(env.value).toMatch(/^arn:aws:secretsmanager:[^:]+:\d{12}:secret:/);
        else expect(env.name).not.toMatch(/PASSWORD|TOKEN|SECRET/);
        expect(env.value).not.toMatch(/:\/\/[^/@]*:[^/@]*@/);
      }
    }
  });

  test("every task that talks to MSK signs in with IAM over TLS, as the cluster demands", () => {
    let kafkaTasks = 0;
    for (const td of run.records.byType(T.taskDefinition)) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
        environment: { name: string; value: string }[];
      }[];
      const env = Object.fromEntries(container!.environment.map((e) => [e.name, e.value]));
      if (env["KAFKA_BROKERS"] === undefined) {
        expect({ task: td.name, auth: env["KAFKA_AUTH"] }).toEqual({ task: td.name });
        continue;
      }
      kafkaTasks += 1;
      expect({ task: td.name, auth: env["KAFKA_AUTH"] }).toEqual({
        task: td.name,
        auth: "aws-iam",
      });
    }
    // The gateways (DLQ) and every service whose catalog entry uses Kafka.
    expect(kafkaTasks).toBeGreaterThanOrEqual(domains(catalog).length + 1);
  });

  test("the image starts from a base pinned by digest, the Dockerfile's own default", () => {
    const [image] = run.records.byType("docker:index/image:Image");
    expect(field(image!, "build", "args", "NODE_IMAGE")).toBe(nodeBaseImage);
    expect(nodeBaseImage).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(readFileSync("Dockerfile", "utf8")).toContain(`ARG NODE_IMAGE=${nodeBaseImage}\n`);
  });

  test("tasks that use RDS trust its CAs: the image fetches the bundle where the env points", () => {
    const [image, ...others] = run.records.byType("docker:index/image:Image");
    // The media variant (render's) is built from the same Dockerfile and arguments.
    expect(others.map((o) => field(o, "build", "target"))).toEqual(["media"]);
    expect(field(others[0]!, "build", "args")).toEqual(field(image!, "build", "args"));
    expect(field(image!, "build", "args")).toMatchObject({
      RDS_CA_BUNDLE_URL: rdsCaBundle.url,
      RDS_CA_BUNDLE_SHA256: rdsCaBundle.sha256,
    });
    // The Dockerfile checks the pinned checksum and writes the bundle where the tasks look.
    expect(readFileSync("Dockerfile", "utf8")).toContain(
      `"$RDS_CA_BUNDLE_URL" "$RDS_CA_BUNDLE_SHA256" ${rdsCaBundle.file}`,
    );
    let databaseTasks = 0;
    for (const td of run.records.byType(T.taskDefinition)) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
        environment: { name: string; value: string }[];
      }[];
      const env = Object.fromEntries(container!.environment.map((e) => [e.name, e.value]));
      if (env["DATABASE_URL"] === undefined) continue;
      databaseTasks += 1;
      expect(env["DATABASE_URL"]).toMatch(/sslmode=require$/);
      expect(env["NODE_EXTRA_CA_CERTS"]).toBe(rdsCaBundle.file);
    }
    expect(databaseTasks).toBeGreaterThan(0);
  });

  test("every security-group and target-group reference resolves to one in the graph", () => {
    const ids = (type: string) => new Set(run.records.byType(type).map(mockId));
    const groups = ids(T.sg);
    const targetGroups = new Set(
      run.records.byType(T.targetGroup).map((r) => mockArn(r.type, r.name)),
    );
    const refs: string[] = [];
    const visit = (value: unknown, key: string) => {
      if (Array.isArray(value)) value.forEach((v) => visit(v, key));
      else if (value && typeof value === "object")
        for (const [k, v] of Object.entries(value)) visit(v, k);
      else if (typeof value === "string" && /securityGroup|SecurityGroupId/i.test(key))
        refs.push(value);
    };
    for (const r of run.records.all) visit(r.inputs, "");
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect({ ref, known: groups.has(ref) }).toEqual({ ref, known: true });
    for (const rule of run.records.byType(T.listenerRule)) {
      for (const action of field(rule, "actions") as { targetGroupArn?: string }[])
        expect(targetGroups.has(action.targetGroupArn!)).toBe(true);
    }
    for (const s of run.records.byType(T.ecsService)) {
      for (const lb of (field(s, "loadBalancers") ?? []) as { targetGroupArn: string }[])
        expect(targetGroups.has(lb.targetGroupArn)).toBe(true);
    }
  });

  test("every service scales on CPU from its catalog replicas, and drains before it stops", () => {
    const targets = run.records
      .byType("aws:appautoscaling/target:Target")
      .filter((t) => t.inputs["serviceNamespace"] === "ecs");
    expect(targets).toHaveLength(run.records.byType(T.ecsService).length);
    for (const t of targets) {
      expect(field(t, "minCapacity")).toBe(2);
      expect(field(t, "maxCapacity")).toBe(6);
    }
    for (const tg of run.records.byType(T.targetGroup)) {
      expect(tg.inputs).toMatchObject({ deregistrationDelay: 10, slowStart: 30 });
      expect(field(tg, "healthCheck", "path")).toBe("/readyz");
    }
  });

  test("tasks reach ECR, logs, secrets, STS, ECS Exec's SSM channels and key through VPC endpoints", () => {
    const endpoints = run.records
      .byType("aws:ec2/vpcEndpoint:VpcEndpoint")
      .map((e) => String(field(e, "serviceName")).replace(/^com\.amazonaws\.[a-z0-9-]+\./, ""))
      .sort();
    expect(endpoints).toEqual([
      "ecr.api",
      "ecr.dkr",
      "kms",
      "logs",
      "s3",
      "secretsmanager",
      "ssmmessages",
      "sts",
    ]);
  });

  test("stack outputs name the public URL", () => {
    expect(run.outputs.url).toMatch(/^http:\/\/.+\.elb\.amazonaws\.com$/);
    expect(run.outputs.endpoints["api"]).toBe(`${run.outputs.url}/v1`);
    for (const d of domains(catalog)) {
      expect(run.outputs.endpoints[`tier.${d.name}`]).toMatch(/^http:\/\/gateway-/);
      for (const store of ["postgres", "redis", "kafka"])
        expect(run.outputs.endpoints[`domain.${d.name}.${store}`]).toEqual(expect.any(String));
    }
  });
});

describe("stack settings change the graph", () => {
  test("dev runs one NAT gateway; perZone gives each zone its own", async () => {
    expect(run.records.byType(T.natGateway)).toHaveLength(1);
    const perZone = await runProgram({
      stack: "dev",
      config: { "platform:natGateways": "perZone" },
    });
    expect(perZone.records.byType(T.natGateway)).toHaveLength(catalog.zones);
  });

  test("an image built elsewhere (serviceImage) is deployed as given: no repository, no build", async () => {
    const uri = `123456789012.dkr.ecr.us-east-1.amazonaws.com/platform/services@sha256:${"ab".repeat(32)}`;
    const media = `123456789012.dkr.ecr.us-east-1.amazonaws.com/platform/services@sha256:${"cd".repeat(32)}`;
    // The catalog's media services (render) need the build's media variant too, named at once.
    await expect(
      runProgram({ stack: "dev", config: { "platform:serviceImage": uri } }),
    ).rejects.toThrow("platform:mediaImage: the catalog's media services need");
    const given = await runProgram({
      stack: "dev",
      config: { "platform:serviceImage": uri, "platform:mediaImage": media },
    });
    const types = new Set(given.records.all.map((r) => r.type));
    expect([
      types.has("aws:ecr/repository:Repository"),
      types.has("docker:index/image:Image"),
    ]).toEqual([false, false]);
    const tds = given.records.byType(T.taskDefinition);
    expect(tds).toHaveLength(run.records.byType(T.taskDefinition).length);
    for (const td of tds) {
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as {
        image: string;
        command: string[];
      }[];
      expect(container!.image).toBe(
        container!.command.includes("services/render/main.ts") ? media : uri,
      );
    }
    // The execution roles may pull from that repository and no other.
    const pulls = given.records
      .byType("aws:iam/rolePolicy:RolePolicy")
      .flatMap(
        (p) =>
          (
            JSON.parse(String(p.inputs["policy"])) as {
              Statement: { Action: unknown; Resource: unknown }[];
            }
          ).Statement,
      )
      .filter((st) => JSON.stringify(st.Action).includes("ecr:BatchGetImage"));
    expect(new Set(pulls.map((st) => st.Resource))).toEqual(
      new Set(["arn:aws:ecr:us-east-1:123456789012:repository/platform/services"]),
    );
    await expect(
      runProgram({ stack: "dev", config: { "platform:serviceImage": "platform/services:latest" } }),
    ).rejects.toThrow("platform:serviceImage must be an ECR image pinned by digest");
  });

  test("a version with a source runs an image of its commit's tree, pushed beside the checkout's", async () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const twoBuilds = ordersVersions([
      { name: "v1", weight: 100 },
      { name: "v2", weight: 0, source: { ref: "HEAD" } },
    ]);
    const sourced = await runProgram({ stack: "dev", catalog: twoBuilds });
    const images = sourced.records.byType("docker:index/image:Image");
    const own = images.filter((i) => i.name.endsWith("@HEAD"));
    // orders runs the default variant: one build of that tree, no media one.
    expect(own).toHaveLength(1);
    expect(field(own[0]!, "build", "context")).toBe(`.run/sources/${head}`);
    expect(field(own[0]!, "build", "target")).toBeUndefined();
    expect(field(own[0]!, "build", "args")).toEqual(field(images[0]!, "build", "args"));
    expect(String(own[0]!.inputs["imageName"]).split(":")[0]).toBe(
      String(images[0]!.inputs["imageName"]).split(":")[0],
    );
    const imageOf = (label: string) => {
      const td = sourced.records
        .byType(T.taskDefinition)
        .find((t) => t.name.endsWith(`-${label}`) || t.name.endsWith(`-${label}-task`))!;
      return (JSON.parse(String(td.inputs["containerDefinitions"])) as { image: string }[])[0]!
        .image;
    };
    // v2's tasks run an image of their own; every other service the checkout's.
    expect(imageOf("orders-v2")).toMatch(/\.dkr\.ecr\..*@sha256:[0-9a-f]{64}$/);
    expect(imageOf("orders-v2")).not.toBe(imageOf("orders"));
    expect(imageOf("orders")).toBe(imageOf("articles"));
    // An image pushed elsewhere cannot hold another commit's tree: refused, naming the setting.
    await expect(
      runProgram({
        stack: "dev",
        catalog: twoBuilds,
        config: {
          "platform:serviceImage": `123456789012.dkr.ecr.us-east-1.amazonaws.com/platform/services@sha256:${"a".repeat(64)}`,
        },
      }),
    ).rejects.toThrow("platform:serviceImage: the catalog's versions with a source (HEAD)");
  });

  test("a bad setting fails with a message that names the key", async () => {
    await expect(
      runProgram({ stack: "dev", config: { "platform:natGateways": "some" } }),
    ).rejects.toThrow('platform:natGateways must be "single" or "perZone"');
  });
});
