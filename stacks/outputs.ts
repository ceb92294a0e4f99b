import type * as pulumi from "@pulumi/pulumi";

/** What every target's `deploy` returns and index.ts exports as stack outputs. */
export interface StackOutputs {
  /** The public base URL of the platform (the routing tier). */
  url: pulumi.Output<string>;
  /** Named addresses worth knowing (public API, internal tiers, the image repository...). */
  endpoints: pulumi.Output<Record<string, string>>;
}
