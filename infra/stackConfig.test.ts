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
  });
});

test("values arrive as strings and are converted", () => {
  expect(
    parseSettings({
      logRetentionDays: "14",
      deletionProtection: "false",
      availabilityZones: "eu-west-1a,eu-west-1c",
      maxScaleFactor: "5",
    }),
  ).toMatchObject({
    logRetentionDays: 14,
    deletionProtection: false,
    availabilityZones: ["eu-west-1a", "eu-west-1c"],
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
  expect(message).toContain("platform:availabilityZones must list 2 or more zones");
  expect(message).toContain("platform:alarmEmail must be an email address");
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
