import { databasePool, serviceDiscoveryName } from "../infra/aws/workloads.ts";
import { defaultCatalog } from "../infra/catalog/default.ts";
import { catalog, domains, services, validateCatalog } from "../infra/catalog/index.ts";
import { envKey, fields, loadEnv } from "../services/shared/config.ts";
import type { RunResult } from "../infra/mock/harness.ts";
import { runProgram } from "../infra/mock/harness.ts";
import { mockAccount, mockRegion } from "../infra/mock/mocks.ts";
import type { ResourceRecord } from "../infra/mock/records.ts";

// PostgreSQL access on AWS under Pulumi's mocks: the password, and the connection budget.
//
// The password: RDS manages it in Secrets Manager and
// rotates it, so no task gets it injected at start (it would go stale after the first rotation):
// each task that uses PostgreSQL is told the secret's ARN and may read that secret alone, and
// services/shared/sql/postgres.ts reads it for each new connection.

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

const T = {
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
};

interface Container {
  environment: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}
interface Statement {
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

test("each task that uses PostgreSQL reads its domain's password secret, and nothing injects it", () => {
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const label = serviceDiscoveryName(s.name, v.name);
      const { container, env } = taskOf(label);
      const injected = (container.secrets ?? []).map((x) => x.name);
      const reads = statements(
        run.records.byType(T.rolePolicy).find((r) => r.name === `${catalog.name}-${label}-task`),
      )
        .filter((st) => [st.Action].flat().includes("secretsmanager:GetSecretValue"))
        .flatMap((st) => [st.Resource].flat());
      expect(injected).not.toContain("PGPASSWORD");
      if (!s.uses.includes("postgres")) {
        expect([label, env["DATABASE_PASSWORD_SECRET_ARN"], reads]).toEqual([label, undefined, []]);
        continue;
      }
      const secret = databaseSecret(s.domain);
      expect([label, env["DATABASE_PASSWORD_SECRET_ARN"], reads]).toEqual([
        label,
        secret,
        [secret],
      ]);
    }
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
        const label = serviceDiscoveryName(s.name, v.name);
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
