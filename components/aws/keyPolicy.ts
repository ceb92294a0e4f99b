/**
 * The statement every customer-managed key policy of the stack starts with: the account (its IAM
 * policies) administers the key. Without it no one could, not even to delete the key.
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
 */
export function accountAdministers(accountId: string, partition: string): Record<string, unknown> {
  return {
    Sid: "AccountAdministers",
    Effect: "Allow",
    Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
    Action: "kms:*",
    Resource: "*",
  };
}
