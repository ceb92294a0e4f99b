import { parseSettings, StackConfigError } from "./stackConfig.ts";

test("defaults are production-safe", () => {
  expect(parseSettings({})).toEqual({
    target: "aws",
    natGateways: "perZone",
    vpcCidr: "10.0.0.0/16",
    logRetentionDays: 30,
    deletionProtection: true,
  });
});

test("values arrive as strings and are converted", () => {
  expect(parseSettings({ logRetentionDays: "14", deletionProtection: "false" })).toMatchObject({
    logRetentionDays: 14,
    deletionProtection: false,
  });
});

test("every problem names its config key", () => {
  let error: unknown;
  try {
    parseSettings({ natGateways: "some", target: "gcp", logRetentionDays: "10", colour: "blue" });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StackConfigError);
  const message = (error as Error).message;
  expect(message).toContain('platform:natGateways must be "single" or "perZone"');
  expect(message).toContain('platform:target must be "aws", "docker" or "kubernetes"');
  expect(message).toContain("platform:logRetentionDays must be a CloudWatch retention period");
  expect(message).toContain("platform:colour is not a known setting");
});
