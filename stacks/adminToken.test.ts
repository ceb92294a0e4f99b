import * as pulumi from "@pulumi/pulumi";
import { catalog, domains, serviceWithRole, services } from "../platform/catalog/index.ts";
import { ecsExecWritablePaths } from "../components/aws/fargateTaskDefinition.ts";
import { domainNamespace, serviceWorkloads } from "../infra/kubernetes/topology.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { mockSecrets, runProgram } from "../test/plan/harness.ts";
import { mockRandomPassword, mocks } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { secretMark } from "../test/plan/records.ts";
import { entrypoint, envKey } from "../platform/runtimeEnv.ts";
import { workloadName } from "../platform/names.ts";

/** The service of role `monitoring` in the default catalog. */
const MONITORING_SERVICE = serviceWithRole(catalog, "monitoring")!.name;

// ADMIN_TOKEN on every target under Pulumi's mocks: each stack generates one token, and every
// gateway replica and monitoring, and nothing else, reads it from the target's secret store. Its
// value appears in no recorded input and no output. On AWS, ECS Exec (the operators' way into
// those tasks) is on for exactly the same workloads.

const ADMIN = envKey.adminToken;
const SIGNING = envKey.principalSecret;
const RANDOM = "random:index/randomPassword:RandomPassword";

/** Secret values as the mock engine received them: what the target's store would hold. */
function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig)
      return unwrap(obj["value"]);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

/** Runs a stack and keeps, beside the records, each resource's inputs with secrets revealed. */
async function runRevealing(options: Parameters<typeof runProgram>[0]) {
  const revealed = new Map<string, Record<string, unknown>>();
  const original = mocks.newResource.bind(mocks);
  mocks.newResource = (args) => {
    revealed.set(`${args.type}::${args.name}`, unwrap(args.inputs) as Record<string, unknown>);
    return original(args);
  };
  try {
    const run = await runProgram(options);
    const reveal = (r: ResourceRecord) => revealed.get(`${r.type}::${r.name}`)!;
    return { run, reveal };
  } finally {
    mocks.newResource = original;
  }
}

/** Neither the records nor the outputs hold the generated token or a configured secret. */
function expectNoSecretValue(run: RunResult, secrets: Record<string, string>) {
  const everything = JSON.stringify([run.records.all, run.outputs]);
  for (const value of [mockRandomPassword, ...Object.values(secrets)])
    expect(everything).not.toContain(value);
}

describe("AWS", () => {
  const T = {
    group: "platform:aws:ServiceGroup",
    service: "aws:ecs/service:Service",
    taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  };
  let run: RunResult;
  beforeAll(async () => {
    run = await runProgram({ stack: "dev" });
  });

  const operated = new Set([
    ...domains(catalog).map((d) => `${catalog.name}-gw-${d.name}`),
    ...(catalog.services[MONITORING_SERVICE]?.versions ?? []).map(
      (v) => `${catalog.name}-${workloadName.service(MONITORING_SERVICE, v.name)}`,
    ),
  ]);
  const groups = () => run.records.byType(T.group);
  const resourceOf = (group: ResourceRecord, type: string, name: string) =>
    run.records.descendantsOf(group).find((r) => r.type === type && r.name === name);
  const containerOf = (group: ResourceRecord) =>
    (
      JSON.parse(
        String(
          resourceOf(group, T.taskDefinition, `${group.name}-task`)!.inputs["containerDefinitions"],
        ),
      ) as {
        environment: { name: string }[];
        secrets: { name: string; valueFrom: string }[];
      }[]
    )[0]!;
  const statementsOf = (policy: ResourceRecord | undefined) =>
    policy
      ? (
          JSON.parse(String(policy.inputs["policy"])) as {
            Statement: { Action: string | string[]; Resource: string | string[] }[];
          }
        ).Statement
      : [];
  /** What the stack says about where the token is: the secret's ARN, which the tasks read. */
  const tokenSecretArn = () => String(run.outputs.endpoints["adminTokenSecret"]);

  test("the stack generates one admin token, which reaches Secrets Manager only as a secret", () => {
    const secret = run.records.one(T.secret, `${catalog.name}-admin-token`);
    expect(secret.inputs).toMatchObject({ recoveryWindowInDays: 7 });
    const version = run.records.one(T.secretVersion, `${catalog.name}-admin-token`);
    expect(version.inputs["secretString"]).toBe(secretMark);
    expect(run.records.byType(RANDOM).filter((r) => r.name.endsWith("-admin-token"))).toHaveLength(
      1,
    );
    expectNoSecretValue(run, mockSecrets);
  });

  test("every gateway tier and monitoring get ADMIN_TOKEN from that secret, and nothing else does", () => {
    expect(operated.size).toBeGreaterThan(domains(catalog).length);
    const given = groups()
      .filter((g) => containerOf(g).secrets.some((s) => s.name === ADMIN))
      .map((g) => g.name);
    expect(given.sort()).toEqual([...operated].sort());
    for (const name of operated) {
      const group = run.records.one(T.group, name);
      const container = containerOf(group);
      expect(container.secrets.filter((s) => s.name === ADMIN)).toEqual([
        { name: ADMIN, valueFrom: tokenSecretArn() },
      ]);
      expect(container.environment.map((e) => e.name)).not.toContain(ADMIN);
      // ECS reads it at task start with the execution role, which may read that secret.
      const exec = statementsOf(resourceOf(group, T.rolePolicy, `${name}-exec`));
      expect(
        exec.some(
          (s) =>
            [s.Resource].flat().includes(tokenSecretArn()) &&
            s.Action === "secretsmanager:GetSecretValue",
        ),
      ).toBe(true);
    }
    for (const group of groups().filter((g) => !operated.has(g.name))) {
      const policy = JSON.stringify(
        statementsOf(resourceOf(group, T.rolePolicy, `${group.name}-exec`)),
      );
      expect([group.name, policy.includes(tokenSecretArn())]).toEqual([group.name, false]);
    }
  });

  test("one principal secret in Secrets Manager reaches every tier and service, only as a secret", () => {
    run.records.one(T.secret, `${catalog.name}-principal-secret`);
    const version = run.records.one(T.secretVersion, `${catalog.name}-principal-secret`);
    expect(version.inputs["secretString"]).toBe(secretMark);
    expect(
      run.records.byType(RANDOM).filter((r) => r.name.endsWith("-principal-secret")),
    ).toHaveLength(1);
    const arn = containerOf(groups()[0]!).secrets.find((s) => s.name === SIGNING)?.valueFrom;
    expect(arn).toMatch(
      new RegExp(
        `^arn:aws:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${catalog.name}-principal-secret-`,
      ),
    );
    const all = groups();
    expect(all.length).toBeGreaterThan(domains(catalog).length);
    for (const group of all) {
      const container = containerOf(group);
      expect([group.name, container.secrets.filter((s) => s.name === SIGNING)]).toEqual([
        group.name,
        [{ name: SIGNING, valueFrom: arn }],
      ]);
      expect(container.environment.map((e) => e.name)).not.toContain(SIGNING);
    }
  });

  test("ECS Exec is on for exactly the gateway tiers and monitoring, with the SSM channels only", () => {
    const ssm = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ];
    for (const group of groups()) {
      const service = resourceOf(group, T.service, `${group.name}-service`)!;
      const task = statementsOf(resourceOf(group, T.rolePolicy, `${group.name}-task`));
      const ssmStatements = task.filter((s) =>
        [s.Action].flat().some((a) => a.startsWith("ssmmessages:") || a.startsWith("ssm:")),
      );
      const mounts = (
        JSON.parse(
          String(
            resourceOf(group, T.taskDefinition, `${group.name}-task`)!.inputs[
              "containerDefinitions"
            ],
          ),
        ) as { mountPoints: { containerPath: string }[] }[]
      )[0]!.mountPoints.map((m) => m.containerPath);
      const agentMounts = mounts.filter((p) =>
        (ecsExecWritablePaths as readonly string[]).includes(p),
      );
      if (operated.has(group.name)) {
        expect([group.name, service.inputs["enableExecuteCommand"]]).toEqual([group.name, true]);
        // The agent writes there; the root filesystem stays read-only.
        expect([group.name, agentMounts]).toEqual([group.name, [...ecsExecWritablePaths]]);
        expect(ssmStatements).toEqual([
          { Sid: "EcsExec", Effect: "Allow", Action: ssm, Resource: "*" },
        ]);
      } else {
        expect([group.name, service.inputs["enableExecuteCommand"] ?? false]).toEqual([
          group.name,
          false,
        ]);
        expect([group.name, ssmStatements]).toEqual([group.name, []]);
        expect([group.name, agentMounts]).toEqual([group.name, []]);
      }
    }
  });

  test("the outputs name where the token is, not the token", () => {
    expect(tokenSecretArn()).toMatch(
      new RegExp(`^arn:aws:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${catalog.name}-admin-token-`),
    );
  });
});

describe("Kubernetes", () => {
  const secrets = {
    "platform:postgresPassword": mockSecrets["platform:postgresPassword"]!,
    "platform:demoApiKey": "sk-mock-demo-key-do-not-print-0123456789",
  };
  const SECRET = "kubernetes:core/v1:Secret";
  const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"];
  interface Env {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }
  let run: RunResult;
  let reveal: (r: ResourceRecord) => Record<string, unknown>;
  beforeAll(async () => {
    ({ run, reveal } = await runRevealing({ stack: "k8s", secrets }));
  });

  const meta = (r: ResourceRecord) => r.inputs["metadata"] as { name: string; namespace: string };
  const envOf = (r: ResourceRecord) =>
    (
      r.inputs["spec"] as {
        template: { spec: { containers: { env?: Env[] }[] } };
      }
    ).template.spec.containers.flatMap((c) => c.env ?? []);
  const operated = new Set([
    ...domains(catalog).map(
      (d) => `${domainNamespace(catalog, d.name)}/${workloadName.tier(d.name)}`,
    ),
    ...services(catalog)
      .filter((s) => s.name === MONITORING_SERVICE)
      .flatMap((s) =>
        serviceWorkloads(s).map((w) => `${domainNamespace(catalog, s.domain)}/${w.name}`),
      ),
  ]);

  test("every gateway tier and monitoring read ADMIN_TOKEN from their namespace's Secret, and nothing else does", () => {
    const workloads = WORKLOADS.flatMap((t) => run.records.byType(t));
    const given = workloads
      .filter((w) => envOf(w).some((e) => e.name === ADMIN))
      .map((w) => `${meta(w).namespace}/${meta(w).name}`);
    expect(given.sort()).toEqual([...operated].sort());
    const tokenSecrets = run.records
      .byType(SECRET)
      .filter((s) => Object.keys(reveal(s)["stringData"] as object).includes(ADMIN));
    for (const w of workloads.filter((w) => operated.has(`${meta(w).namespace}/${meta(w).name}`))) {
      const [entry, ...more] = envOf(w).filter((e) => e.name === ADMIN);
      expect(more).toEqual([]);
      expect(entry!.value).toBeUndefined();
      const ref = entry!.valueFrom!.secretKeyRef!;
      expect(ref.key).toBe(ADMIN);
      const secret = tokenSecrets.find(
        (s) => meta(s).namespace === meta(w).namespace && meta(s).name === ref.name,
      );
      expect(secret?.inputs["stringData"]).toBe(secretMark);
    }
    // One token for the stack: every namespace's Secret holds the same generated value, and
    // those Secrets hold nothing else.
    const values = tokenSecrets.map((s) => reveal(s)["stringData"]);
    expect(values).toEqual(tokenSecrets.map(() => ({ [ADMIN]: mockRandomPassword })));
    expect(run.records.byType(RANDOM).filter((r) => r.name.endsWith("-admin-token"))).toHaveLength(
      1,
    );
  });

  test("every gateway and service reads PRINCIPAL_SECRET from its namespace's Secret; the router does not", () => {
    const workloads = WORKLOADS.flatMap((t) => run.records.byType(t));
    const signingSecrets = run.records
      .byType(SECRET)
      .filter((s) => Object.keys(reveal(s)["stringData"] as object).includes(SIGNING));
    expect(signingSecrets.map((s) => reveal(s)["stringData"])).toEqual(
      signingSecrets.map(() => ({ [SIGNING]: mockRandomPassword })),
    );
    expect(signingSecrets.length).toBe(domains(catalog).length);
    const programs = new Set([
      entrypoint("router"),
      entrypoint("gateway"),
      ...services(catalog).map((s) => entrypoint(s.name)),
    ]);
    const argsOf = (r: ResourceRecord) =>
      (r.inputs["spec"] as { template: { spec: { containers: { args?: string[] }[] } } }).template
        .spec.containers[0]!.args ?? [];
    const programsRun = workloads.filter((w) => programs.has(argsOf(w)[0] ?? ""));
    expect(programsRun.length).toBeGreaterThan(domains(catalog).length);
    for (const w of programsRun) {
      const name = `${meta(w).namespace}/${meta(w).name}`;
      const entries = envOf(w).filter((e) => e.name === SIGNING);
      const isRouter = argsOf(w)[0] === entrypoint("router");
      expect([name, entries.length]).toEqual([name, isRouter ? 0 : 1]);
      if (isRouter) continue;
      expect(entries[0]!.value).toBeUndefined();
      const ref = entries[0]!.valueFrom!.secretKeyRef!;
      expect(
        signingSecrets.some(
          (s) => meta(s).namespace === meta(w).namespace && meta(s).name === ref.name,
        ),
      ).toBe(true);
    }
  });

  test("the token is in no recorded input, and the outputs name its Secret", () => {
    expectNoSecretValue(run, secrets);
    const [ns, name] = String(run.outputs.endpoints["adminTokenSecret"]).split("/");
    expect(
      run.records.byType(SECRET).some((s) => meta(s).namespace === ns && meta(s).name === name),
    ).toBe(true);
  });
});

describe("Docker", () => {
  const secrets = { "platform:postgresPassword": mockSecrets["platform:postgresPassword"]! };
  const CONTAINER = "docker:index/container:Container";
  let run: RunResult;
  let reveal: (r: ResourceRecord) => Record<string, unknown>;
  beforeAll(async () => {
    ({ run, reveal } = await runRevealing({ stack: "docker", secrets }));
  });

  const command = (c: ResourceRecord) => (c.inputs["command"] as string[] | undefined) ?? [];
  const program = (c: ResourceRecord) => command(c).at(-1);
  /** The names in a container's secret env file (`KEY='value'` lines), and the plain env's. */
  const secretKeys = (c: ResourceRecord) =>
    ((reveal(c)["uploads"] as { content?: string }[] | undefined) ?? []).flatMap((u) =>
      (u.content ?? "").split("\n").flatMap((line) => /^([A-Z_]+)=/.exec(line)?.[1] ?? []),
    );
  const plainKeys = (c: ResourceRecord) =>
    ((reveal(c)["envs"] as string[] | undefined) ?? []).map((e) => e.slice(0, e.indexOf("=")));
  const operatedPrograms = [entrypoint("gateway"), entrypoint(MONITORING_SERVICE)];

  test("every gateway replica and monitoring get ADMIN_TOKEN in their secret env file, and nothing else does", () => {
    const containers = run.records.byType(CONTAINER);
    const gateways = containers.filter((c) => program(c) === entrypoint("gateway"));
    expect(gateways).toHaveLength(domains(catalog).reduce((n, d) => n + d.gateway.replicas, 0));
    for (const c of containers) {
      const operated = operatedPrograms.includes(program(c) ?? "");
      expect([c.name, secretKeys(c).includes(ADMIN)]).toEqual([c.name, operated]);
      expect([c.name, plainKeys(c).includes(ADMIN)]).toEqual([c.name, false]);
      if (operated) {
        expect(c.inputs["uploads"]).toBe(secretMark);
        expect(command(c)[0]).toMatch(/^--env-file=\//);
      }
    }
    const values = containers
      .filter((c) => operatedPrograms.includes(program(c) ?? ""))
      .map(
        (c) =>
          ((reveal(c)["uploads"] as { content: string }[])[0]!.content.match(
            new RegExp(`^${ADMIN}='([^']*)'$`, "m"),
          ) ?? [])[1],
      );
    expect(new Set(values)).toEqual(new Set([mockRandomPassword]));
    expect(run.records.byType(RANDOM).filter((r) => r.name.endsWith("-admin-token"))).toHaveLength(
      1,
    );
  });

  test("every gateway and service gets PRINCIPAL_SECRET in its secret env file, the router not", () => {
    const containers = run.records.byType(CONTAINER);
    const router = entrypoint("router");
    expect(containers.filter((c) => program(c) !== router).length).toBeGreaterThan(
      domains(catalog).length,
    );
    const programs = new Set([
      router,
      entrypoint("gateway"),
      ...services(catalog).map((s) => entrypoint(s.name)),
    ]);
    for (const c of containers.filter((c) => programs.has(program(c) ?? ""))) {
      const signs = program(c) !== router;
      expect([c.name, secretKeys(c).includes(SIGNING)]).toEqual([c.name, signs]);
      expect([c.name, plainKeys(c).includes(SIGNING)]).toEqual([c.name, false]);
      if (signs) expect(c.inputs["uploads"]).toBe(secretMark);
    }
    expect(
      run.records.byType(RANDOM).filter((r) => r.name.endsWith("-principal-secret")),
    ).toHaveLength(1);
  });

  test("the token is in no recorded input or output", () => {
    expectNoSecretValue(run, secrets);
  });
});
