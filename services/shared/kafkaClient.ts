import type { ConnectionOptions } from "@platformatic/kafka";
import { envFormat, envKey } from "../../platform/runtimeEnv.ts";

/**
 * How a process reaches its domain's Kafka. Locally, in Docker and on Kubernetes the brokers are
 * plain TCP inside a private network; on AWS, MSK admits only TLS clients that sign in with IAM
 * (the task role), so the stack sets KAFKA_AUTH=aws-iam and every producer, consumer and admin
 * client of the services is built from the options below.
 */
export interface KafkaClientOptions extends Pick<ConnectionOptions, "tls" | "sasl"> {
  bootstrapBrokers: string[];
}

/** Signs an MSK IAM token (SASL/OAUTHBEARER) with the default AWS credential chain. */
export type TokenSigner = (region: string) => Promise<string>;

// The signer (and the AWS SDK under it) is imported on the first signature: only MSK needs it.
const signWithDefaultChain: TokenSigner = async (region) => {
  const { generateAuthToken } = await import("aws-msk-iam-sasl-signer-js");
  return (await generateAuthToken({ region })).token;
};

/**
 * Connection options for `brokers`, read with the auth mode from the environment. A new token is
 * signed for each connection's SASL handshake: the signer caches credentials, and MSK closes a
 * session whose token expired, which makes the client reconnect and sign again.
 */
export function kafkaClientOptions(
  brokers: string,
  env: NodeJS.ProcessEnv = process.env,
  sign: TokenSigner = signWithDefaultChain,
): KafkaClientOptions {
  const parsed = envFormat.kafkaBrokers.safeParse(brokers);
  if (!parsed.success) {
    throw new Error(
      `${envKey.kafkaBrokers}: ${parsed.error.issues[0]?.message} (got "${brokers}")`,
    );
  }
  const bootstrapBrokers = brokers.split(",");
  const auth = envFormat.kafkaAuth.safeParse(env[envKey.kafkaAuth] ?? "none");
  if (!auth.success) {
    throw new Error(`${envKey.kafkaAuth}: ${auth.error.issues[0]?.message}`);
  }
  if (auth.data === "none") return { bootstrapBrokers };
  // A managed Kafka's TLS listener (MSK's is port 9094), with certificates Node trusts.
  if (auth.data === "tls") return { bootstrapBrokers, tls: {} };

  // ECS sets AWS_REGION in every task; elsewhere it must be given.
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new Error(`${envKey.kafkaAuth}=aws-iam needs AWS_REGION (the region of the MSK cluster)`);
  }
  return {
    bootstrapBrokers,
    // MSK's IAM listener (port 9098) is TLS with Amazon-issued certificates, which Node trusts.
    tls: {},
    sasl: { mechanism: "OAUTHBEARER", token: () => sign(region) },
  };
}
