import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

// PRINCIPAL_SECRET (infra/runtimeEnv.ts envKey.principalSecret): the key of what the gateways
// sign, the principal they send to services, the auth verdicts they keep in Redis and the writes
// they park in the dead-letter queue (services/shared/signing.ts). Each stack makes one and hands
// it to every gateway and service replica (never to the router, which asserts nothing), as a
// secret of the target's own store, as it does ADMIN_TOKEN.

/** The stack's principal secret: 48 random letters and digits, above the programs' minimum of 32. */
export function principalSecret(prefix: string): pulumi.Output<string> {
  const generated = new random.RandomPassword(`${prefix}-principal-secret`, {
    length: 48,
    special: false,
  });
  return pulumi.secret(generated.result);
}
