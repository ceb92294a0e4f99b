import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { secretRegion } from "./secretArn.ts";

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
