import { catalog, services } from "../infra/catalog/index.ts";
import type { RunResult } from "../infra/mock/harness.ts";
import { runProgram } from "../infra/mock/harness.ts";
import { mockAccount, mockRegion } from "../infra/mock/mocks.ts";
import type { ResourceRecord } from "../infra/mock/records.ts";

// The database password on AWS under Pulumi's mocks. RDS manages it in Secrets Manager and
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

/** The master-password secret of a domain's database, as the mocked RDS reports it. */
const databaseSecret = (domain: string) =>
  `arn:aws:secretsmanager:${mockRegion}:${mockAccount}:secret:rds!db-${catalog.name}-${domain}-postgres`;

test("each task that uses PostgreSQL reads its domain's password secret, and nothing injects it", () => {
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      const label = v.name === "v1" ? s.name : `${s.name}-${v.name}`;
      const td = run.records
        .byType(T.taskDefinition)
        .find((t) => t.name.startsWith(`${catalog.name}-${label}-`))!;
      const [container] = JSON.parse(String(td.inputs["containerDefinitions"])) as Container[];
      const env = Object.fromEntries(container!.environment.map((e) => [e.name, e.value]));
      const injected = (container!.secrets ?? []).map((x) => x.name);
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
