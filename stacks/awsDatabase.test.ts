import { databasePool } from "../infra/aws/workloads.ts";
import { defaultCatalog } from "../platform/catalog/default.ts";
import { catalog, domains, services, validateCatalog } from "../platform/catalog/index.ts";
import { envKey, fields, loadEnv } from "../services/shared/config.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { mockAccount, mockArn, mockRegion } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { workloadName } from "../platform/names.ts";

// PostgreSQL access on AWS under Pulumi's mocks: who signs in as whom, and the connection budget.
//
// Each service signs in as a role of its own (issue #14, B5), which owns its schema and nothing
// else (services/shared/sql/serviceRoles.ts, tested on a real PostgreSQL), with IAM tokens of its
// task role: no task has a database password, and none can read the master secret, which only
// the domain's database-roles function reads (components/aws/databaseRoles.ts).

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

const T = {
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  instance: "aws:rds/instance:Instance",
  fn: "aws:lambda/function:Function",
  invocation: "aws:lambda/invocation:Invocation",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
};

interface Container {
  environment: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}
interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: string | string[];
}

const statements = (r: ResourceRecord | undefined): Statement[] =>
  r ? (JSON.parse(String(r.inputs["policy"])) as { Statement: Statement[] }).Statement : [];

/** The container of a service version's task definition, and its plain environment. */
function taskOf(label: string): { container: Container; env: Record<string, string> } {
  const td = run.records
    .byType(T.taskDefinition)
    .find((t) => t.name.startsWith(`${catalog.name}-${label}-`))!;
  const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as Container[];
  return {
    container: container!,
    env: Object.fromEntries(container!.environment.map((e) => [e.name, e.value])),
  };
}

/** The master-password secret of a domain's database, as the mocked RDS reports it. */
const databaseSecret = (domain: string) =>
  `arn:aws:secretsmanager:${mockRegion}:${mockAccount}:secret:rds!db-${catalog.name}-${domain}-postgres`;
/** The IAM database user of `service` on its domain's instance (the mock's resource id). */
function databaseUser(domain: string, service: string): RegExp {
  const db = run.records
    .byType(T.instance)
    .find((r) => r.name === `${catalog.name}-${domain}-postgres`)!;
  expect(db.inputs["iamDatabaseAuthenticationEnabled"]).toBe(true);
  return new RegExp(
    `^arn:aws:rds-db:${mockRegion}:${mockAccount}:dbuser:db-[0-9A-F]{26}/${service}$`,
  );
}
const taskStatements = (label: string) =>
  statements(
    run.records.byType(T.rolePolicy).find((r) => r.name === `${catalog.name}-${label}-task`),
  );

test("each task that uses PostgreSQL signs in as its own role with IAM tokens, and has no password", () => {
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const label = workloadName.service(s.name, v.name);
      const { container, env } = taskOf(label);
      const injected = (container.secrets ?? []).map((x) => x.name);
      const st = taskStatements(label);
      const connects = st
        .filter((x) => [x.Action].flat().some((a) => a.startsWith("rds-db:")))
        .flatMap((x) => [x.Resource].flat());
      const readsSecrets = st
        .filter((x) => [x.Action].flat().includes("secretsmanager:GetSecretValue"))
        .flatMap((x) => [x.Resource].flat());
      expect(injected).not.toContain("PGPASSWORD");
      // No task may read a master secret (RDS names them rds!...).
      expect([label, readsSecrets.filter((r) => r.includes(":secret:rds!"))]).toEqual([label, []]);
      if (!s.uses.includes("postgres")) {
        expect([label, env["DATABASE_URL"], env["DATABASE_AUTH"], connects]).toEqual([
          label,
          undefined,
          undefined,
          [],
        ]);
        continue;
      }
      const url = new URL(env["DATABASE_URL"]!);
      expect([label, url.username, url.password, env["DATABASE_AUTH"], connects]).toEqual([
        label,
        s.name,
        "",
        "aws-iam",
        [expect.stringMatching(databaseUser(s.domain, s.name))],
      ]);
    }
  }
});

test("one database-roles function per domain: its own master secret, in the VPC, every service's role", () => {
  for (const d of domains(catalog)) {
    const users = services(catalog)
      .filter((s) => s.domain === d.name && s.uses.includes("postgres"))
      .map((s) => s.name)
      .sort();
    const name = `${catalog.name}-${d.name}-db-roles`;
    const fn = run.records.byType(T.fn).find((r) => r.name === name);
    if (users.length === 0) {
      expect(fn).toBeUndefined();
      continue;
    }
    expect(fn!.inputs).toMatchObject({ runtime: "nodejs24.x", timeout: 60 });
    const vars = (fn!.inputs["environment"] as { variables: Record<string, string> }).variables;
    expect(vars["MASTER_SECRET_ARN"]).toBe(databaseSecret(d.name));
    expect(vars["DATABASE_CA_FILE"]).toBe("/var/task/rds-ca.pem");
    const vpc = fn!.inputs["vpcConfig"] as { subnetIds: string[]; securityGroupIds: string[] };
    expect(vpc.subnetIds.length).toBeGreaterThanOrEqual(2);
    // Its own group (PostgreSQL and HTTPS inside the VPC only) and the database's client group.
    expect(vpc.securityGroupIds).toHaveLength(2);
    const own = run.records.byType(T.securityGroup).find((r) => r.name === name)!;
    const egress = own.inputs["egress"] as { fromPort: number; cidrBlocks: string[] }[];
    expect(egress.map((e) => [e.fromPort, e.cidrBlocks])).toEqual([
      [5432, [String(egress[0]!.cidrBlocks[0])]],
      [443, [String(egress[0]!.cidrBlocks[0])]],
    ]);
    expect(egress[0]!.cidrBlocks[0]).not.toBe("0.0.0.0/0");
    const policy = statements(run.records.byType(T.rolePolicy).find((r) => r.name === name));
    const reads = policy.filter((x) => [x.Action].flat().includes("secretsmanager:GetSecretValue"));
    expect(reads.flatMap((x) => [x.Resource].flat())).toEqual([databaseSecret(d.name)]);
    const invocation = run.records.byType(T.invocation).find((r) => r.name === name)!;
    expect(JSON.parse(String(invocation.inputs["input"]))).toEqual({ services: users });
  }
});

test("each process pools its share: every domain's clients at full scale-out fit its instance", () => {
  const maxScaleFactor = 3; // the dev stack's default
  for (const d of domains(catalog)) {
    const pool = databasePool(catalog, d.name, maxScaleFactor);
    const clients = services(catalog).filter(
      (s) => s.domain === d.name && s.uses.includes("postgres"),
    );
    let connections = pool.poolMax; // the one-off task's
    for (const s of clients) {
      for (const v of s.versions) {
        const label = workloadName.service(s.name, v.name);
        const { env } = taskOf(label);
        expect([label, env["DATABASE_POOL_MAX"]]).toEqual([label, String(pool.poolMax)]);
        connections += Number(env["DATABASE_POOL_MAX"]) * s.replicas * maxScaleFactor;
      }
    }
    expect({ domain: d.name, short: pool.short }).toEqual({ domain: d.name, short: false });
    expect(connections).toBeLessThanOrEqual(pool.maxConnections - 8);
  }
});

/** The default catalog with the business database on `instanceClass`. */
const businessOn = (instanceClass: string) =>
  validateCatalog({
    ...defaultCatalog,
    domains: {
      ...defaultCatalog.domains,
      business: { ...defaultCatalog.domains["business"]!, data: { postgres: { instanceClass } } },
    },
  });

test("a domain too large for its instance is reported, and an unknown size named", () => {
  const onMicro = businessOn("db.t4g.micro");
  expect(databasePool(onMicro, "business", 3)).toMatchObject({ poolMax: 2, short: true });
  expect(databasePool(onMicro, "business", 1)).toMatchObject({ short: false });
  expect(databasePool(catalog, "business", 1).poolMax).toBeGreaterThan(2);
  const odd = businessOn("db.x9.huge");
  expect(() => databasePool(odd, "business", 3)).toThrow(
    /catalog.domains.business.data.postgres.instanceClass: unknown size in "db.x9.huge"/,
  );
});

test("DATABASE_POOL_MAX is checked at start, naming the variable", () => {
  const read = (value: string | undefined) =>
    loadEnv(
      { pool: fields.databasePoolMax },
      { pool: envKey.databasePoolMax },
      { DATABASE_POOL_MAX: value },
    );
  expect(read(undefined).pool).toBe(10);
  expect(read("3").pool).toBe(3);
  expect(() => read("0")).toThrow(/DATABASE_POOL_MAX/);
  expect(() => read("many")).toThrow(/DATABASE_POOL_MAX/);
});

test("Performance Insights where the instance class has it, encrypted with the domain's key", async () => {
  const large = await runProgram({ stack: "dev", catalog: businessOn("db.m7g.large") });
  const db = (r: RunResult, domain: string) =>
    r.records.byType(T.instance).find((i) => i.name === `${catalog.name}-${domain}-postgres`)!;
  const key = large.records
    .byType("aws:kms/key:Key")
    .find((k) => k.name === `${catalog.name}-business-key`)!;
  expect(db(large, "business").inputs).toMatchObject({
    performanceInsightsEnabled: true,
    performanceInsightsKmsKeyId: mockArn(key.type, key.name),
    performanceInsightsRetentionPeriod: 7,
  });
  // RDS refuses it on micro and small classes (the default catalog's).
  expect(db(run, "identity").inputs["instanceClass"]).toMatch(/micro|small/);
  expect(db(run, "identity").inputs["performanceInsightsEnabled"]).toBe(false);
});
