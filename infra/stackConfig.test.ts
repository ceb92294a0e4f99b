import { parseSettings, StackConfigError } from "./stackConfig.ts";

test("defaults are production-safe", () => {
  expect(parseSettings({})).toEqual({
    target: "aws",
    natGateways: "perZone",
    vpcCidr: "10.0.0.0/16",
    logRetentionDays: 30,
    deletionProtection: true,
    multiAzDatabase: true,
    waf: true,
    wafRateLimit: 2000,
    kafka: "provisioned",
    maxScaleFactor: 3,
    steadyStateTimeoutMinutes: 15,
  });
});

test("values arrive as strings and are converted", () => {
  expect(
    parseSettings({
      logRetentionDays: "14",
      deletionProtection: "false",
      availabilityZones: "euw1-az1,euw1-az3",
      maxScaleFactor: "5",
    }),
  ).toMatchObject({
    logRetentionDays: 14,
    deletionProtection: false,
    availabilityZones: ["euw1-az1", "euw1-az3"],
    maxScaleFactor: 5,
  });
});

test("every problem names its config key", () => {
  let error: unknown;
  try {
    parseSettings({
      natGateways: "some",
      target: "gcp",
      logRetentionDays: "10",
      colour: "blue",
      kafka: "managed",
      availabilityZones: "us-east-1a",
      alarmEmail: "ops",
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StackConfigError);
  const message = (error as Error).message;
  expect(message).toContain('platform:natGateways must be "single" or "perZone"');
  expect(message).toContain('platform:target must be "aws", "docker" or "kubernetes"');
  expect(message).toContain("platform:logRetentionDays must be a CloudWatch retention period");
  expect(message).toContain("platform:colour is not a known setting");
  expect(message).toContain('platform:kafka must be "provisioned" or "serverless"');
  expect(message).toContain("platform:availabilityZones must list 2 or more zone IDs");
  expect(message).toContain("platform:alarmEmail must be an email address");
});

// Zone names map to different zones in each account; MSK refuses its client subnets in
// use1-az3: https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html
test.each([
  ["us-east-1a,us-east-1b", "must list 2 or more zone IDs"],
  ["use1-az1,use1-az3", "must not list use1-az3, where MSK places no brokers"],
])("availabilityZones %s is refused: zone IDs only, none that MSK refuses", (zones, message) => {
  expect(() => parseSettings({ availabilityZones: zones })).toThrow(
    `platform:availabilityZones ${message}`,
  );
});

test("a domain needs a hosted zone (or a certificate), and a zone needs a domain", () => {
  expect(() => parseSettings({ domainName: "api.example.com" })).toThrow(
    "platform:domainName needs platform:hostedZoneId",
  );
  expect(() => parseSettings({ hostedZoneId: "Z0123456789EXAMPLE" })).toThrow(
    "platform:hostedZoneId needs platform:domainName",
  );
  expect(
    parseSettings({ domainName: "api.example.com", hostedZoneId: "Z0123456789EXAMPLE" }),
  ).toMatchObject({ domainName: "api.example.com" });
});

test.each(["10.0.0.0/24", "10.0.5.0/16", "256.0.0.0/16"])(
  "vpcCidr %s is refused: the subnets are /21s of an a.b.0.0/16",
  (cidr) => {
    expect(() => parseSettings({ vpcCidr: cidr })).toThrow(
      "platform:vpcCidr must be an IPv4 /16 block such as 10.0.0.0/16",
    );
  },
);
