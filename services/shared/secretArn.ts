// Apart from awsSecrets.ts so that validating an ARN (every process's config does) does not load
// the AWS SDK, which only a process that reads a secret needs.

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
