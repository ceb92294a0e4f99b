import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "../../test/plan/harness.ts";
import { DatabaseRoles, type DatabaseRolesArgs } from "./databaseRoles.ts";

// The DatabaseRoles component on its own, under the mocks (issue #14, B5): a function in the VPC
// that alone reads the master secret, invoked with the sorted roles, again when its code or the
// instance changes. stacks/awsDatabase.test.ts checks how the stack wires it to the tasks.

const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x-AbCdEf";
const args = (services: string[]): DatabaseRolesArgs => ({
  services,
  masterSecretArn: SECRET,
  address: "db.internal",
  port: 5432,
  databaseName: "platform_business",
  instanceResourceId: "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  vpcId: "vpc-1",
  vpcCidrBlock: "10.0.0.0/16",
  subnetIds: ["subnet-a", "subnet-b"],
  clientSecurityGroupId: "sg-pg-clients",
  logRetentionDays: 14,
  tags: { project: "p", stack: "dev" },
});

const run = (services: string[]) =>
  runProgram({
    stack: "dev",
    program: () => {
      const roles = new DatabaseRoles("business", args(services));
      const url = pulumi.output("http://unused");
      return {
        url,
        endpoints: roles.ready.apply((ready): Record<string, string> => ({ ready })),
      };
    },
  });

test("one function in the VPC, the only reader of the master secret, invoked with the roles", async () => {
  const { records } = await run(["orders", "chat", "analytics"]);
  const fn = records.byType("aws:lambda/function:Function")[0]!;
  expect(fn.inputs).toMatchObject({
    runtime: "nodejs24.x",
    handler: "services/shared/sql/rolesLambda.handler",
    vpcConfig: {
      subnetIds: ["subnet-a", "subnet-b"],
      securityGroupIds: [expect.any(String), "sg-pg-clients"],
    },
  });
  const policy = JSON.parse(
    String(records.byType("aws:iam/rolePolicy:RolePolicy")[0]!.inputs["policy"]),
  ) as { Statement: { Sid: string; Action: string | string[]; Resource: string }[] };
  const reads = policy.Statement.filter((s) =>
    [s.Action].flat().includes("secretsmanager:GetSecretValue"),
  );
  expect(reads.map((s) => s.Resource)).toEqual([SECRET]);
  const trust = JSON.parse(
    String(records.byType("aws:iam/role:Role")[0]!.inputs["assumeRolePolicy"]),
  ) as { Statement: { Principal: unknown }[] };
  expect(trust.Statement.map((s) => s.Principal)).toEqual([{ Service: "lambda.amazonaws.com" }]);
  const invocation = records.byType("aws:lambda/invocation:Invocation")[0]!;
  // Sorted, so that listing the services in another order does not invoke it again.
  expect(JSON.parse(String(invocation.inputs["input"]))).toEqual({
    services: ["analytics", "chat", "orders"],
  });
  expect(Object.keys(invocation.inputs["triggers"] as object).sort()).toEqual(["code", "instance"]);
  expect(records.byType("aws:cloudwatch/logGroup:LogGroup")[0]!.inputs).toMatchObject({
    retentionInDays: 14,
  });
});

test("a database no service uses gets no roles function: the component refuses it", async () => {
  await expect(run([])).rejects.toThrow("business: no service uses this database");
});
