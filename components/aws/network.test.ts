import { recordComponents, settle } from "../../test/plan/harness.ts";
import { mockAccount, mockArn, mockRegion } from "../../test/plan/mocks.ts";
import type { NetworkArgs } from "./network.ts";
import { Network, defaultInterfaceEndpoints } from "./network.ts";

// The Network component on its own, under the mocks: the VPC, three tiers of subnets in each
// zone, NAT egress for the private tier only, VPC endpoints and flow logs.

const zones = ["zone-a", "zone-b", "zone-c"];
const args = (over: Partial<NetworkArgs> = {}): NetworkArgs => ({
  cidrBlock: "10.20.0.0/16",
  availabilityZones: zones,
  tags: { project: "p" },
  ...over,
});

async function build(over: Partial<NetworkArgs> = {}) {
  let network: Network | undefined;
  const records = await recordComponents(() => {
    network = new Network("net", args(over));
  });
  return { records, network: network! };
}

const subnet = "aws:ec2/subnet:Subnet";
const routeTable = "aws:ec2/routeTable:RouteTable";
const association = "aws:ec2/routeTableAssociation:RouteTableAssociation";

test("every part of it is its own child", async () => {
  const { records } = await build();
  const component = records.one("platform:aws:Network", "net");
  const others = records.all.filter((r) => r !== component);
  expect(others.length).toBeGreaterThan(0);
  for (const r of others)
    expect([r.type, r.name, r.parent]).toEqual([r.type, r.name, component.urn]);
});

test("three tiers of /21s in every zone, numbered tier by tier, none handing out public IPs", async () => {
  const { records } = await build();
  const subnets = records.byType(subnet);
  // Registration order follows the CIDR outputs' resolution: compare by zone and tier.
  const byName = new Map(
    subnets.map((s) => [s.name, [s.inputs["availabilityZone"], s.inputs["cidrBlock"]]]),
  );
  expect(Object.fromEntries([...byName].sort())).toEqual({
    "net-0-isolated": ["zone-a", "10.20.48.0/21"],
    "net-0-private": ["zone-a", "10.20.24.0/21"],
    "net-0-public": ["zone-a", "10.20.0.0/21"],
    "net-1-isolated": ["zone-b", "10.20.56.0/21"],
    "net-1-private": ["zone-b", "10.20.32.0/21"],
    "net-1-public": ["zone-b", "10.20.8.0/21"],
    "net-2-isolated": ["zone-c", "10.20.64.0/21"],
    "net-2-private": ["zone-c", "10.20.40.0/21"],
    "net-2-public": ["zone-c", "10.20.16.0/21"],
  });
  for (const s of subnets) expect(s.inputs["mapPublicIpOnLaunch"]).toBe(false);
  expect(records.one("aws:ec2/vpc:Vpc", "net-vpc").inputs).toMatchObject({
    cidrBlock: "10.20.0.0/16",
    enableDnsHostnames: true,
    enableDnsSupport: true,
  });
});

test("public subnets route to the internet, private ones to their zone's NAT, isolated ones nowhere", async () => {
  const { records } = await build();
  expect(records.one(routeTable, "net-public").inputs["routes"]).toEqual([
    { cidrBlock: "0.0.0.0/0", gatewayId: "internetgateway-net-igw" },
  ]);
  expect(records.one(routeTable, "net-isolated").inputs["routes"]).toBeUndefined();
  for (const i of [0, 1, 2]) {
    expect(records.one(routeTable, `net-${i}-private`).inputs["routes"]).toEqual([
      { cidrBlock: "0.0.0.0/0", natGatewayId: `natgateway-net-${i}-nat` },
    ]);
    expect(records.one("aws:ec2/natGateway:NatGateway", `net-${i}-nat`).inputs).toMatchObject({
      subnetId: `subnet-net-${i}-public`,
      allocationId: `eip-net-${i}-nat`,
    });
    for (const tier of ["public", "private", "isolated"]) {
      const table = tier === "private" ? `net-${i}-private` : `net-${tier}`;
      expect(records.one(association, `net-${i}-${tier}`).inputs).toEqual({
        subnetId: `subnet-net-${i}-${tier}`,
        routeTableId: `routetable-${table}`,
      });
    }
  }
});

test("a single NAT, when asked for, carries every zone's egress", async () => {
  const { records } = await build({ natGateways: "single" });
  expect(records.byType("aws:ec2/natGateway:NatGateway").map((n) => n.name)).toEqual(["net-0-nat"]);
  for (const i of [0, 1, 2])
    expect(records.one(routeTable, `net-${i}-private`).inputs["routes"]).toEqual([
      { cidrBlock: "0.0.0.0/0", natGatewayId: "natgateway-net-0-nat" },
    ]);
});

test("AWS APIs through endpoints in the private subnets, HTTPS from the VPC alone", async () => {
  const { records } = await build();
  const endpoints = records.byType("aws:ec2/vpcEndpoint:VpcEndpoint");
  expect(records.one("aws:ec2/vpcEndpoint:VpcEndpoint", "net-s3").inputs).toMatchObject({
    serviceName: `com.amazonaws.${mockRegion}.s3`,
    vpcEndpointType: "Gateway",
    routeTableIds: [
      "routetable-net-0-private",
      "routetable-net-1-private",
      "routetable-net-2-private",
    ],
  });
  const interfaces = endpoints.filter((e) => e.inputs["vpcEndpointType"] === "Interface");
  expect(interfaces.map((e) => e.inputs["serviceName"])).toEqual(
    defaultInterfaceEndpoints.map((s) => `com.amazonaws.${mockRegion}.${s}`),
  );
  for (const e of interfaces)
    expect(e.inputs).toMatchObject({
      privateDnsEnabled: true,
      subnetIds: ["subnet-net-0-private", "subnet-net-1-private", "subnet-net-2-private"],
      securityGroupIds: ["securitygroup-net-endpoints"],
    });
  const ingress = records.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
  expect(ingress.map((r) => r.inputs)).toEqual([
    expect.objectContaining({
      securityGroupId: "securitygroup-net-endpoints",
      cidrIpv4: "10.20.0.0/16",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
    }),
  ]);
});

test("without interface endpoints, no endpoint group either; S3's gateway stays", async () => {
  const { records } = await build({ interfaceEndpoints: [] });
  expect(records.byType("aws:ec2/vpcEndpoint:VpcEndpoint").map((e) => e.name)).toEqual(["net-s3"]);
  expect(records.byType("aws:ec2/securityGroup:SecurityGroup")).toEqual([]);
});

test("flow logs of all traffic, kept for the given days, written by a role only this account's flow logs assume", async () => {
  const { records } = await build({ flowLogRetentionDays: 400 });
  const logArn = mockArn("aws:cloudwatch/logGroup:LogGroup", "net-flow-logs");
  expect(
    records.one("aws:cloudwatch/logGroup:LogGroup", "net-flow-logs").inputs["retentionInDays"],
  ).toBe(400);
  expect(records.one("aws:ec2/flowLog:FlowLog", "net-flow-log").inputs).toMatchObject({
    vpcId: "vpc-net-vpc",
    trafficType: "ALL",
    logDestinationType: "cloud-watch-logs",
    logDestination: logArn,
    iamRoleArn: mockArn("aws:iam/role:Role", "net-flow-logs"),
  });
  const trust = JSON.parse(
    String(records.one("aws:iam/role:Role", "net-flow-logs").inputs["assumeRolePolicy"]),
  ) as { Statement: unknown[] };
  expect(trust.Statement).toEqual([
    {
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": mockAccount },
        ArnLike: { "aws:SourceArn": `arn:aws:ec2:${mockRegion}:${mockAccount}:vpc-flow-log/*` },
      },
    },
  ]);
  const policy = JSON.parse(
    String(records.one("aws:iam/rolePolicy:RolePolicy", "net-flow-logs").inputs["policy"]),
  ) as { Statement: { Resource: unknown }[] };
  expect(policy.Statement.map((s) => s.Resource)).toEqual([[logArn, `${logArn}:*`]]);
});

test("spans 2 to 6 zones", async () => {
  await expect(build({ availabilityZones: ["zone-a"] })).rejects.toThrow(
    "net: a network spans 2 to 6 availability zones (got 1)",
  );
  await expect(build({ availabilityZones: ["a", "b", "c", "d", "e", "f", "g"] })).rejects.toThrow(
    "net: a network spans 2 to 6 availability zones (got 7)",
  );
});

test("hands out the subnets of each tier in zone order, and S3's prefix list", async () => {
  const { network } = await build({ availabilityZones: ["zone-a", "zone-b"] });
  const ids = (outputs: typeof network.privateSubnetIds) => Promise.all(outputs.map(settle));
  expect(await ids(network.publicSubnetIds)).toEqual([
    "subnet-net-0-public",
    "subnet-net-1-public",
  ]);
  expect(await ids(network.privateSubnetIds)).toEqual([
    "subnet-net-0-private",
    "subnet-net-1-private",
  ]);
  expect(await ids(network.isolatedSubnetIds)).toEqual([
    "subnet-net-0-isolated",
    "subnet-net-1-isolated",
  ]);
  expect(await settle(network.vpcId)).toBe("vpc-net-vpc");
  expect(await settle(network.s3PrefixListId)).toBe("pl-63a5400a");
});

test("refuses a block the subnet layout does not fit, naming the field", () => {
  for (const bad of ["10.0.0.0/24", "10.0.5.0/16", "300.1.0.0/16", "10.0.0.0"])
    expect(() => new Network("bad", args({ cidrBlock: bad }))).toThrow(
      `bad: cidrBlock must be an IPv4 /16 block such as 10.0.0.0/16 (got ${bad})`,
    );
});
