import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

const SECRET_ARN =
  /^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:secret:[A-Za-z0-9/_+=.@!-]+$/;

/** The region of a Secrets Manager secret, from its ARN; throws naming `what` when it is not one. */
export function secretRegion(secretArn: string, what = "the secret"): string {
  const match = SECRET_ARN.exec(secretArn);
  if (!match)
    throw new Error(
      `${what} must be a Secrets Manager secret ARN ` +
        `(arn:aws:secretsmanager:<region>:<account>:secret:<name>), got ${JSON.stringify(secretArn)}`,
    );
  return match[1]!;
}

/** A client for the secret's own region (the task's credentials, or the caller's). */
export function secretsClient(secretArn: string): SecretsManagerClient {
  return new SecretsManagerClient({ region: secretRegion(secretArn) });
}

/** One field of a JSON secret's current version, e.g. `password` of an RDS-managed secret. */
export async function readSecretField(
  client: SecretsManagerClient,
  secretArn: string,
  field: string,
): Promise<string> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const value = (JSON.parse(SecretString ?? "{}") as Record<string, unknown>)[field];
  if (typeof value !== "string") throw new Error(`${secretArn} has no string field "${field}"`);
  return value;
}
