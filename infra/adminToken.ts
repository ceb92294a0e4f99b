import type * as pulumi from "@pulumi/pulumi";
import { generatedSecret } from "./platformConfig.ts";

// ADMIN_TOKEN (platform/runtimeEnv.ts envKey.adminToken): the operators' bearer token for the
// gateways' `/admin` endpoints and for monitoring opened through a gateway. Each stack makes one
// and hands it to every gateway replica and to monitoring, and to nothing else, as a secret of
// the target's own store.

/** The stack's admin token: 40 characters, well above the programs' 16-character minimum. */
export function adminToken(prefix: string): pulumi.Output<string> {
  return generatedSecret(`${prefix}-admin-token`, 40);
}
