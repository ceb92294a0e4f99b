import type * as pulumi from "@pulumi/pulumi";
import { generatedSecret } from "./platformConfig.ts";

// PRINCIPAL_SECRET (platform/runtimeEnv.ts envKey.principalSecret): the key of what the gateways
// sign, the principal they send to services, the auth verdicts they keep in Redis and the writes
// they park in the dead-letter queue (services/shared/signing.ts). Each stack makes one and hands
// it to every gateway and service replica (never to the router, which asserts nothing), as a
// secret of the target's own store, as it does ADMIN_TOKEN.

/** The stack's principal secret: 48 characters, above the programs' minimum of 32. */
export function principalSecret(prefix: string): pulumi.Output<string> {
  return generatedSecret(`${prefix}-principal-secret`, 48);
}
