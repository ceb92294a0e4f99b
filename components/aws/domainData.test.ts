import { recordComponents, settle } from "../../test/plan/harness.ts";
import { mockArn, mockRandomPassword } from "../../test/plan/mocks.ts";
import { secretMark } from "../../test/plan/records.ts";
import type { DomainDataArgs } from "./domainData.ts";
import { DomainData, STORAGE_AUTOSCALING_FACTOR, ports } from "./domainData.ts";

// The DomainData component on its own, under the mocks: one domain's PostgreSQL, Redis and
// Kafka in the isolated subnets, encrypted with the domain's key, each behind a group that
// admits only its client group. stacks/awsDatabase.test.ts checks how the stack wires them.

const subnets = ["subnet-iso-a", "subnet-iso-b", "subnet-iso-c"];
const args = (over: Partial<DomainDataArgs> = {}): DomainDataArgs => ({
  vpcId: "vpc-1",
  vpcCidrBlock: "10.0.0.0/16",
  subnetIds: subnets,
  databaseRoles: [],
  postgres: {
    engineVersion: "16.4",
    instanceClass: "db.m7g.large",
    storageGb: 50,
    backupRetentionDays: 14,
  },
  redis: { nodeType: "cache.t4g.small", nodes: 2 },
  kafka: { mode: "provisioned", instanceType: "kafka.t3.small", version: "3.7.x", storageGb: 100 },
  logRetentionDays: 60,
  tags: { project: "p" },
  ...over,
});

async function build(over: Partial<DomainDataArgs> = {}) {
  let data: DomainData | undefined;
  const records = await recordComponents(() => {
    data = new DomainData("orders", args(over));
  });
  return { records, data: data! };
}

const keyArn = mockArn("aws:kms/key:Key", "orders-key");
const database = "aws:rds/instance:Instance";
const cache = "aws:elasticache/replicationGroup:ReplicationGroup";
const kafka = "aws:msk/cluster:Cluster";

test("everything it builds lies below it, its own parts as its direct children", async () => {
  const { records } = await build({ databaseRoles: ["orders"] });
  const component = records.one("platform:aws:DomainData", "orders");
  const below = records.descendantsOf(component);
  expect(below.length).toBe(records.all.length - 1);
  expect(records.childrenOf(component).filter((r) => r.type.startsWith("platform:"))).toEqual([
    expect.objectContaining({ type: "platform:aws:DatabaseRoles", name: "orders" }),
  ]);
});

test("the domain's rotating key outlives a destroy, for the final snapshot it encrypts", async () => {
  const { records } = await build();
  const key = records.one("aws:kms/key:Key", "orders-key");
  expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
  expect(key.retainOnDelete).toBe(true);
});

test("each store admits its port from its client group alone", async () => {
  const { records, data } = await build();
  const ingress = records.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
  expect(
    ingress
      .map((r) => [
        r.inputs["securityGroupId"],
        r.inputs["referencedSecurityGroupId"],
        r.inputs["fromPort"],
        r.inputs["toPort"],
        r.inputs["cidrIpv4"],
      ])
      .sort(),
  ).toEqual([
    ["securitygroup-orders-kafka-sg", "securitygroup-orders-kafka-clients", 9098, 9098, undefined],
    [
      "securitygroup-orders-postgres-sg",
      "securitygroup-orders-postgres-clients",
      5432,
      5432,
      undefined,
    ],
    ["securitygroup-orders-redis-sg", "securitygroup-orders-redis-clients", 6379, 6379, undefined],
  ]);
  expect(records.byType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")).toEqual([]);
  expect(
    await Promise.all([
      settle(data.clientSecurityGroupIds.postgres),
      settle(data.clientSecurityGroupIds.redis),
      settle(data.clientSecurityGroupIds.kafka),
    ]),
  ).toEqual([
    "securitygroup-orders-postgres-clients",
    "securitygroup-orders-redis-clients",
    "securitygroup-orders-kafka-clients",
  ]);
});

test("PostgreSQL: private, multi-AZ, encrypted with the key, TLS forced, protected, its logs kept for the given days", async () => {
  const { records } = await build();
  expect(records.one(database, "orders-postgres").inputs).toMatchObject({
    identifier: "orders-pg-dev",
    engineVersion: "16.4",
    allocatedStorage: 50,
    maxAllocatedStorage: 50 * STORAGE_AUTOSCALING_FACTOR,
    storageEncrypted: true,
    kmsKeyId: keyArn,
    manageMasterUserPassword: true,
    dbSubnetGroupName: "orders-postgres",
    parameterGroupName: "orders-postgres",
    vpcSecurityGroupIds: ["securitygroup-orders-postgres-sg"],
    publiclyAccessible: false,
    multiAz: true,
    backupRetentionPeriod: 14,
    deletionProtection: true,
    skipFinalSnapshot: false,
    iamDatabaseAuthenticationEnabled: true,
    enabledCloudwatchLogsExports: ["postgresql"],
    performanceInsightsEnabled: true,
    performanceInsightsKmsKeyId: keyArn,
  });
  expect(records.one(database, "orders-postgres").inputs["password"]).toBeUndefined();
  expect(
    records.one("aws:rds/parameterGroup:ParameterGroup", "orders-postgres").inputs,
  ).toMatchObject({
    family: "postgres16",
    parameters: [{ name: "rds.force_ssl", value: "1" }],
  });
  expect(
    records.one("aws:rds/subnetGroup:SubnetGroup", "orders-postgres").inputs["subnetIds"],
  ).toEqual(subnets);
  expect(
    records.one("aws:cloudwatch/logGroup:LogGroup", "orders-postgres-logs").inputs,
  ).toMatchObject({ name: "/aws/rds/instance/orders-pg-dev/postgresql", retentionInDays: 60 });
});

test("PostgreSQL may be single-AZ and unprotected when asked; small classes go without Performance Insights", async () => {
  const { records } = await build({
    multiAzDatabase: false,
    deletionProtection: false,
    postgres: {
      engineVersion: "16.4",
      instanceClass: "db.t4g.micro",
      storageGb: 20,
      backupRetentionDays: 1,
    },
  });
  const inputs = records.one(database, "orders-postgres").inputs;
  expect(inputs).toMatchObject({
    multiAz: false,
    deletionProtection: false,
    skipFinalSnapshot: false,
    performanceInsightsEnabled: false,
  });
  expect(inputs["performanceInsightsKmsKeyId"]).toBeUndefined();
});

test("Redis: replicas across zones with failover, encrypted at rest with the key and in transit, its token a secret", async () => {
  const { records } = await build({ redis: { nodeType: "cache.t4g.small", nodes: 3 } });
  expect(records.one(cache, "orders-redis").inputs).toMatchObject({
    numCacheClusters: 3,
    port: ports.redis,
    automaticFailoverEnabled: true,
    multiAzEnabled: true,
    subnetGroupName: "orders-redis",
    securityGroupIds: ["securitygroup-orders-redis-sg"],
    atRestEncryptionEnabled: true,
    kmsKeyId: keyArn,
    transitEncryptionEnabled: true,
    authToken: secretMark,
  });
  expect(
    records.one("aws:secretsmanager/secretVersion:SecretVersion", "orders-redis-auth").inputs[
      "secretString"
    ],
  ).toBe(secretMark);
  expect(JSON.stringify(records.all)).not.toContain(mockRandomPassword);
});

test("a given Redis token replaces the generated one and stays secret", async () => {
  const token = "given-redis-token-do-not-print";
  const { records } = await build({ redisAuthToken: token });
  expect(records.byType("random:index/randomPassword:RandomPassword")).toEqual([]);
  expect(JSON.stringify(records.all)).not.toContain(token);
});

test("Kafka: a broker per zone, TLS everywhere, KMS at rest, IAM only, broker logs kept, storage that grows", async () => {
  const { records } = await build();
  expect(records.one(kafka, "orders-kafka").inputs).toMatchObject({
    numberOfBrokerNodes: 3,
    brokerNodeGroupInfo: {
      clientSubnets: subnets,
      securityGroups: ["securitygroup-orders-kafka-sg"],
      storageInfo: { ebsStorageInfo: { volumeSize: 100 } },
    },
    encryptionInfo: {
      encryptionAtRestKmsKeyArn: keyArn,
      encryptionInTransit: { clientBroker: "TLS", inCluster: true },
    },
    clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
    loggingInfo: {
      brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: "orders-kafka-logs" } },
    },
  });
  expect(
    records.one("aws:cloudwatch/logGroup:LogGroup", "orders-kafka-logs").inputs["retentionInDays"],
  ).toBe(60);
  expect(
    records.one("aws:appautoscaling/target:Target", "orders-kafka-storage").inputs,
  ).toMatchObject({ maxCapacity: 100 * STORAGE_AUTOSCALING_FACTOR });
  expect(
    records.one("aws:appautoscaling/policy:Policy", "orders-kafka-storage").inputs,
  ).toMatchObject({ targetTrackingScalingPolicyConfiguration: { disableScaleIn: true } });
});

test("serverless Kafka: IAM only, in the isolated subnets, no brokers to count", async () => {
  const { records, data } = await build({
    kafka: { mode: "serverless", instanceType: "", version: "", storageGb: 0 },
    subnetIds: [...subnets, "subnet-iso-d"],
  });
  expect(records.byType(kafka)).toEqual([]);
  expect(
    records.one("aws:msk/serverlessCluster:ServerlessCluster", "orders-kafka").inputs,
  ).toMatchObject({
    clientAuthentication: { sasl: { iam: { enabled: true } } },
    vpcConfigs: [
      {
        subnetIds: [...subnets, "subnet-iso-d"],
        securityGroupIds: ["securitygroup-orders-kafka-sg"],
      },
    ],
  });
  expect(data.kafkaBrokerCount).toBeUndefined();
});

test("bad shapes are refused, naming what is wrong", async () => {
  await expect(build({ subnetIds: ["subnet-iso-a"] })).rejects.toThrow(
    "orders: data stores need subnets in at least 2 zones",
  );
  await expect(build({ subnetIds: [...subnets, "subnet-iso-d"] })).rejects.toThrow(
    "orders: MSK takes 2 or 3 client subnets (got 4)",
  );
  await expect(build({ redis: { nodeType: "cache.t4g.small", nodes: 1 } })).rejects.toThrow(
    "orders: redis needs at least 2 nodes for automatic failover",
  );
});

test("endpoints carry no credentials and require TLS; Kafka clients may use this cluster's topics and groups alone", async () => {
  const { data } = await build();
  expect(await settle(data.endpoints.databaseUrl)).toBe(
    "postgres://platform@orders-postgres.mock.us-east-1.rds.amazonaws.com:5432/orders?sslmode=require",
  );
  expect(await settle(data.endpoints.redisUrl)).toBe(
    "rediss://master.orders-redis.mock.us-east-1.cache.amazonaws.com:6379",
  );
  expect(await settle(data.endpoints.kafkaBrokers)).toMatch(/^b-1\..*:9098,b-2\..*,b-3\..*:9098$/);
  expect(data.kafkaBrokerCount).toBe(3);
  const arn = await settle(data.kafkaClusterArn);
  const [, base, uuid] = /^(.*):cluster\/orders-kafka\/(.*)$/.exec(arn)!;
  expect(await settle(data.kafkaClientStatements)).toEqual([
    expect.objectContaining({ Resource: arn }),
    expect.objectContaining({ Resource: `${base}:topic/orders-kafka/${uuid}/*` }),
    expect.objectContaining({ Resource: `${base}:group/orders-kafka/${uuid}/*` }),
  ]);
  expect(await Promise.all(data.redisNodeIds.map(settle))).toEqual([
    "replicationgroup-orders-redis-001",
    "replicationgroup-orders-redis-002",
  ]);
});

test("a service's database URL and sign-in are for its own role, and only for a service with one", async () => {
  const { data } = await build({ databaseRoles: ["orders"] });
  expect(await settle(data.databaseUrlFor("orders"))).toBe(
    "postgres://orders@orders-postgres.mock.us-east-1.rds.amazonaws.com:5432/orders?sslmode=require",
  );
  expect(await settle(data.databaseConnectStatement("orders"))).toMatchObject({
    Action: "rds-db:connect",
    Resource: expect.stringMatching(
      /^arn:aws:rds-db:us-east-1:123456789012:dbuser:db-[0-9A-F]{26}\/orders$/,
    ),
  });
  expect(() => data.databaseUrlFor("chat")).toThrow("DomainData: chat has no database role");
});
