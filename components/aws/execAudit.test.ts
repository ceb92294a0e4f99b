import * as pulumi from "@pulumi/pulumi";
import { recordComponents, settle } from "../../test/plan/harness.ts";
import { mockAccount, mockArn, mockRegion } from "../../test/plan/mocks.ts";
import { ExecAudit } from "./execAudit.ts";

// The ExecAudit component on its own, under the mocks: the KMS key of ECS Exec sessions and the
// log group of their transcripts, encrypted with it.

type Statement = {
  Sid: string;
  Effect: string;
  Principal?: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: unknown;
};

const keyArn = mockArn("aws:kms/key:Key", "ops-exec");
const logArn = mockArn("aws:cloudwatch/logGroup:LogGroup", "ops-exec");
// The mock stack is `dev`: the group's name carries it, as log group names are per account.
const logGroupName = "/ecs/exec/ops-dev";

async function build() {
  let audit: ExecAudit | undefined;
  const records = await recordComponents(() => {
    audit = new ExecAudit("ops", { logRetentionDays: 90, tags: { project: "p" } });
  });
  return { records, audit: audit! };
}

test("a rotating key and a transcript log group encrypted with it, kept for the given days", async () => {
  const { records } = await build();
  const component = records.one("platform:aws:ExecAudit", "ops");
  const children = records.childrenOf(component);
  expect(children.map((r) => r.type).sort()).toEqual([
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:kms/key:Key",
  ]);
  expect(records.all.filter((r) => r !== component && r.parent !== component.urn)).toEqual([]);
  expect(records.one("aws:kms/key:Key", "ops-exec").inputs).toMatchObject({
    enableKeyRotation: true,
    deletionWindowInDays: 30,
  });
  expect(records.one("aws:cloudwatch/logGroup:LogGroup", "ops-exec").inputs).toMatchObject({
    name: logGroupName,
    retentionInDays: 90,
    kmsKeyId: keyArn,
  });
});

test("the key's policy lets CloudWatch Logs use it for this log group alone", async () => {
  const { records } = await build();
  const policy = JSON.parse(
    String(records.one("aws:kms/key:Key", "ops-exec").inputs["policy"]),
  ) as { Statement: Statement[] };
  expect(policy.Statement.map((s) => [s.Sid, s.Effect])).toEqual([
    ["AccountAdministers", "Allow"],
    ["CloudWatchLogsEncryptsTranscripts", "Allow"],
  ]);
  expect(policy.Statement[0]!.Principal).toEqual({ AWS: `arn:aws:iam::${mockAccount}:root` });
  expect(policy.Statement[1]!.Principal).toEqual({ Service: `logs.${mockRegion}.amazonaws.com` });
  expect(policy.Statement[1]!.Condition).toEqual({
    ArnEquals: {
      "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${mockRegion}:${mockAccount}:log-group:${logGroupName}`,
    },
  });
});

test("tasks may decrypt sessions and write transcripts to this group, no more", async () => {
  const { audit } = await build();
  expect(await settle(audit.taskStatements)).toEqual([
    { Sid: "ExecSessionKey", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn },
    { Sid: "ExecFindLogGroup", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
    {
      Sid: "ExecTranscript",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
      Resource: `${logArn}:*`,
    },
  ]);
});

test("the cluster setting encrypts sessions and logs them, encrypted, to the group", async () => {
  const { audit } = await build();
  expect(await settle(pulumi.output(audit.clusterConfiguration))).toEqual({
    executeCommandConfiguration: {
      kmsKeyId: keyArn,
      logging: "OVERRIDE",
      logConfiguration: { cloudWatchLogGroupName: logGroupName, cloudWatchEncryptionEnabled: true },
    },
  });
  expect([await settle(audit.kmsKeyArn), await settle(audit.logGroupName)]).toEqual([
    keyArn,
    logGroupName,
  ]);
});
