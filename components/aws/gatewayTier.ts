import * as pulumi from "@pulumi/pulumi";
import type { ServiceGroupArgs } from "./serviceGroup.ts";
import { ServiceGroup } from "./serviceGroup.ts";

export interface GatewayTierArgs extends Omit<
  ServiceGroupArgs,
  "sourceSecurityGroupIds" | "targetGroupArns"
> {
  /** The routing load balancer's security group: the only source admitted to the gateways. */
  loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** The load balancer's target group of this tier (RoutingAlb `targetGroups`). */
  targetGroupArn: pulumi.Input<string>;
}

/**
 * One gateway tier: a ServiceGroup of gateway replicas that register in the routing load
 * balancer's target group of the tier and admit the load balancer alone.
 */
export class GatewayTier extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: GatewayTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:GatewayTier", name, {}, opts);
    const { loadBalancerSecurityGroupId, targetGroupArn, ...group } = args;
    const service = new ServiceGroup(
      name,
      {
        ...group,
        sourceSecurityGroupIds: [loadBalancerSecurityGroupId],
        targetGroupArns: [targetGroupArn],
      },
      { parent: this },
    );
    this.securityGroupId = service.securityGroupId;
    this.serviceName = service.serviceName;
    this.registerOutputs({ serviceName: this.serviceName });
  }
}
