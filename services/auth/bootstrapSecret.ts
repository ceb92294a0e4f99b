import { PutSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { secretsClient } from "../shared/awsSecrets.ts";

/**
 * Writes `value` as the secret's new current version (JSON), in the secret's own region. Where
 * the AWS stacks deliver the bootstrap admin key: a secret of the stack's own, which only the
 * auth task role may write. A key printed by a one-off ECS task would land in CloudWatch Logs,
 * readable by everyone who may read the logs, for their whole retention.
 */
export async function putBootstrapKey(
  secretArn: string,
  value: Record<string, unknown>,
  client: SecretsManagerClient = secretsClient(secretArn),
): Promise<void> {
  try {
    await client.send(
      new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify(value) }),
    );
  } finally {
    client.destroy();
  }
}
