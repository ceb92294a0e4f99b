import { recordComponents } from "../../test/plan/harness.ts";
import type { TaskSecurityGroupArgs } from "./taskSecurityGroup.ts";
import { TaskSecurityGroup } from "./taskSecurityGroup.ts";

// The TaskSecurityGroup component on its own, under the mocks: in from the listed callers on the
// one port, out to the VPC and S3, and to the internet only when asked.

const args = (over: Partial<TaskSecurityGroupArgs> = {}): TaskSecurityGroupArgs => ({
  vpcId: "vpc-1",
  vpcCidrBlock: "10.0.0.0/16",
  s3PrefixListId: "pl-s3",
  port: 8080,
  sourceSecurityGroupIds: ["sg-tier", "sg-monitoring"],
  tags: { project: "p" },
  ...over,
});

type Egress = { fromPort: number; toPort: number; cidrBlocks?: string[]; prefixListIds?: string[] };

test("admits each listed caller on the port alone, and nothing else", async () => {
  const records = await recordComponents(() => new TaskSecurityGroup("orders", args()));
  const rules = records.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
  expect(rules.map((r) => [r.name, r.inputs["referencedSecurityGroupId"]])).toEqual([
    ["orders-from-0", "sg-tier"],
    ["orders-from-1", "sg-monitoring"],
  ]);
  for (const r of rules)
    expect(r.inputs).toMatchObject({ ipProtocol: "tcp", fromPort: 8080, toPort: 8080 });
  const sg = records.one("aws:ec2/securityGroup:SecurityGroup", "orders-sg");
  expect(sg.inputs["ingress"]).toBeUndefined();
  expect(sg.inputs["tags"]).toEqual({ project: "p", Name: "orders-sg" });
});

test("sends to the VPC and S3 only, unless the catalog says `internet`", async () => {
  const egress = async (internetEgress: boolean) => {
    const records = await recordComponents(
      () => new TaskSecurityGroup("g", args({ internetEgress })),
    );
    return records.one("aws:ec2/securityGroup:SecurityGroup", "g-sg").inputs["egress"] as Egress[];
  };
  const closed = await egress(false);
  expect(closed.map((e) => e.cidrBlocks ?? e.prefixListIds)).toEqual([["10.0.0.0/16"], ["pl-s3"]]);
  expect(closed[1]).toMatchObject({ fromPort: 443, toPort: 443 });
  const open = await egress(true);
  expect(open.map((e) => e.cidrBlocks ?? e.prefixListIds)).toEqual([
    ["10.0.0.0/16"],
    ["pl-s3"],
    ["0.0.0.0/0"],
  ]);
});
