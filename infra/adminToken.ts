import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

// ADMIN_TOKEN (infra/runtimeEnv.ts envKey.adminToken): the operators' bearer token for the
// gateways' `/admin` endpoints and for monitoring opened through a gateway. Each stack makes one
// and hands it to every gateway replica and to monitoring, and to nothing else, as a secret of
// the target's own store.

/**
 * The stack's admin token: 40 random letters and digits, well above the programs' 16-character
 * minimum. No punctuation, so that it goes into an `Authorization` header, a shell variable and
 * Docker's single-quoted env-file line as it is.
 */
export function adminToken(prefix: string): pulumi.Output<string> {
  const generated = new random.RandomPassword(`${prefix}-admin-token`, {
    length: 40,
    special: false,
  });
  return pulumi.secret(generated.result);
}
