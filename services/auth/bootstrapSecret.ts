import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/**
 * Where the AWS stacks deliver the bootstrap admin key: a Secrets Manager secret of the stack's
 * own, which only the auth task role may write. A key printed by a one-off ECS task would land in
 * CloudWatch Logs, readable by everyone who may read the logs, for their whole retention.
 */
const SECRET_ARN =
  /^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** The secret's region, from its ARN; throws with what is wrong when it is not a secret's ARN. */
export function secretRegion(secretArn: string): string {
  const match = SECRET_ARN.exec(secretArn);
  if (!match)
    throw new Error(
      `--secret-id must be a Secrets Manager secret ARN ` +
        `(arn:aws:secretsmanager:<region>:<account>:secret:<name>), got ${JSON.stringify(secretArn)}`,
    );
  return match[1]!;
}

/** Writes `value` as the secret's new current version (JSON), in the secret's own region. */
export async function putBootstrapKey(
  secretArn: string,
  value: Record<string, unknown>,
  client = new SecretsManagerClient({ region: secretRegion(secretArn) }),
): Promise<void> {
  try {
    await client.send(
      new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify(value) }),
    );
  } finally {
    client.destroy();
  }
}
