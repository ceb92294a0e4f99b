import { kafkaClientOptions } from "./kafkaClient.ts";

const brokers = "b-1.msk.example:9098,b-2.msk.example:9098";

test("without KAFKA_AUTH the brokers are plain TCP, as on a private network", () => {
  expect(kafkaClientOptions(brokers, {})).toEqual({
    bootstrapBrokers: ["b-1.msk.example:9098", "b-2.msk.example:9098"],
  });
  expect(kafkaClientOptions(brokers, { KAFKA_AUTH: "none" }).sasl).toBeUndefined();
});

test("tls: a managed Kafka's TLS listener, without SASL", () => {
  expect(kafkaClientOptions(brokers, { KAFKA_AUTH: "tls" })).toEqual({
    bootstrapBrokers: ["b-1.msk.example:9098", "b-2.msk.example:9098"],
    tls: {},
  });
});

test("bad values are refused at start with the variable named", () => {
  expect(() => kafkaClientOptions("broker-without-port", {})).toThrow(/^KAFKA_BROKERS: must be/);
  expect(() => kafkaClientOptions(brokers, { KAFKA_AUTH: "scram" })).toThrow(
    /^KAFKA_AUTH: must be "none", "tls" or "aws-iam"/,
  );
  expect(() => kafkaClientOptions(brokers, { KAFKA_AUTH: "aws-iam" })).toThrow(
    /KAFKA_AUTH=aws-iam needs AWS_REGION/,
  );
});

test("aws-iam: TLS and SASL/OAUTHBEARER with a token signed for the task's region", async () => {
  const regions: string[] = [];
  const options = kafkaClientOptions(
    brokers,
    { KAFKA_AUTH: "aws-iam", AWS_REGION: "eu-west-1" },
    async (region) => {
      regions.push(region);
      return `token-${regions.length}`;
    },
  );
  expect(options.tls).toEqual({});
  expect(options.sasl?.mechanism).toBe("OAUTHBEARER");
  const token = options.sasl?.token as () => Promise<string>;
  // Signed per handshake: a reconnect after MSK expires a session gets a fresh token.
  expect(await token()).toBe("token-1");
  expect(await token()).toBe("token-2");
  expect(regions).toEqual(["eu-west-1", "eu-west-1"]);
});

test("the default signer makes MSK's IAM token: a presigned kafka-cluster:Connect URL", async () => {
  // The AWS SDK's default chain reads these first; signing is local, nothing is sent.
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLEKEY123456",
    AWS_SECRET_ACCESS_KEY: "example/secret/key/that/is/not/real/0000",
  });
  delete process.env["AWS_SESSION_TOKEN"];
  delete process.env["AWS_PROFILE"];
  try {
    const options = kafkaClientOptions(brokers, { KAFKA_AUTH: "aws-iam", AWS_REGION: "us-east-2" });
    const token = await (options.sasl?.token as () => Promise<string>)();
    const url = new URL(Buffer.from(token, "base64url").toString("utf8"));
    expect(url.host).toBe("kafka.us-east-2.amazonaws.com");
    expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(
      /^AKIAEXAMPLEKEY123456\/\d{8}\/us-east-2\/kafka-cluster\/aws4_request$/,
    );
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toContain("example/secret");
  } finally {
    process.env = saved;
  }
});
