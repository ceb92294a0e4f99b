import { catalog } from "../platform/catalog/index.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import { mockArn } from "../test/plan/mocks.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { secretRegion } from "../services/shared/secretArn.ts";

// The AWS admin bootstrap under Pulumi's mocks: a secret for the first admin key, which only the
// auth tasks may write, and the stack output that runs the bootstrap command as a one-off task
// of auth's own definition, writing to that secret (docs/identity.md).

let run: RunResult;
beforeAll(async () => {
  run = await runProgram({ stack: "dev" });
});

const T = {
  secret: "aws:secretsmanager/secret:Secret",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  service: "aws:ecs/service:Service",
};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}
const statements = (r: ResourceRecord): Statement[] =>
  (JSON.parse(String(r.inputs["policy"])) as { Statement: Statement[] }).Statement;

const secretName = `${catalog.name}-admin-bootstrap`;
const secretArn = () => String(run.outputs.endpoints["adminBootstrapSecret"]);

test("the stack has a secret for the bootstrap key, kept 7 days after a delete", () => {
  const secret = run.records.byType(T.secret).find((r) => r.name === secretName);
  expect(secret?.inputs).toMatchObject({ recoveryWindowInDays: 7 });
  expect(secretArn()).toContain(`:secret:${secretName}-`);
  // The bootstrap command accepts the ARN the stack hands out.
  expect(secretRegion(secretArn())).toBeTruthy();
});

test("only the auth task roles may write it, and only that secret", () => {
  // Every statement that names the secret or writes any secret (the execution roles' reads of
  // the tasks' own secrets are neither).
  const writes = (st: Statement) =>
    [st.Action]
      .flat()
      .some((a) => a.startsWith("secretsmanager:") && !a.startsWith("secretsmanager:Get"));
  const writers = run.records.byType(T.rolePolicy).flatMap((policy) =>
    statements(policy)
      .filter((st) => writes(st) || [st.Resource].flat().includes(secretArn()))
      .map((st) => ({ policy: policy.name, action: st.Action, resource: st.Resource })),
  );
  const authVersions = catalog.services["auth"]!.versions.map((v) =>
    v.name === "v1" ? "auth" : `auth-${v.name}`,
  );
  expect(writers).toEqual(
    authVersions.map((label) => ({
      policy: `${catalog.name}-${label}-task`,
      action: "secretsmanager:PutSecretValue",
      resource: secretArn(),
    })),
  );
});

test("the stack output is the whole run-task command, in auth's network, with no public IP", () => {
  const command = run.outputs.endpoints["adminBootstrapCommand"]!;
  const authTask = run.records
    .byType(T.taskDefinition)
    .find((t) => t.name.startsWith(`${catalog.name}-auth-`))!;
  const authService = run.records
    .byType(T.service)
    .find((s) => s.name.startsWith(`${catalog.name}-auth-`))!;
  const network = authService.inputs["networkConfiguration"] as {
    subnets: string[];
    securityGroups: string[];
  };
  expect(command).toMatch(/^aws ecs run-task --cluster \S+ --launch-type FARGATE /);
  expect(command).toContain(`--task-definition ${mockArn(T.taskDefinition, authTask.name)}`);
  expect(command).toContain(
    `awsvpcConfiguration={subnets=[${network.subnets.join(",")}],securityGroups=[${network.securityGroups.join(",")}],assignPublicIp=DISABLED}`,
  );
  const overrides = JSON.parse(/--overrides '([^']+)'/.exec(command)![1]!) as {
    containerOverrides: { name: string; command: string[] }[];
  };
  const [container] = JSON.parse(String(authTask.inputs["containerDefinitions"])) as {
    name: string;
  }[];
  expect(overrides.containerOverrides).toEqual([
    {
      name: container!.name,
      command: ["services/auth/createAdminKey.ts", "--secret-id", secretArn()],
    },
  ]);
});
