import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ServiceGroupArgs } from "./serviceGroup.ts";
import { ServiceGroup } from "./serviceGroup.ts";

export interface GatewayTierArgs extends Omit<
  ServiceGroupArgs,
  "sourceSecurityGroupIds" | "targetGroupArns"
> {
  /** The routing load balancer's security group: the only source admitted to the gateways. */
  loadBalancerSecurityGroupId: pulumi.Input<string>;
  /**
   * Seconds a deregistering gateway keeps its in-flight requests. ECS waits for this before it
   * sends SIGTERM, and the container gets the same window again to drain what Cloud Map callers
   * still send, so it matches the gateways' graceful shutdown. Default 10.
   */
  drainSeconds?: number;
  /** Seconds a new gateway ramps up its share of traffic (warm caches, pools). Default 30. */
  slowStartSeconds?: number;
}

/**
 * One gateway tier: a ServiceGroup of gateway replicas behind its own target group, which the
 * routing load balancer's rules forward to. The target group checks `/readyz`, so a gateway
 * whose dependencies are down stops receiving traffic while ECS (which checks `/healthz`)
 * leaves it running.
 */
export class GatewayTier extends pulumi.ComponentResource {
  public readonly targetGroupArn: pulumi.Output<string>;
  /** For CloudWatch metric dimensions (`targetgroup/<name>/<id>`). */
  public readonly targetGroupArnSuffix: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: GatewayTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:GatewayTier", name, {}, opts);
    const { loadBalancerSecurityGroupId, slowStartSeconds, ...group } = args;
    const drainSeconds = args.drainSeconds ?? 10;

    const targetGroup = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        vpcId: args.vpcId,
        targetType: "ip",
        protocol: "HTTP",
        port: args.containerPort,
        deregistrationDelay: drainSeconds,
        slowStart: slowStartSeconds ?? 30,
        healthCheck: {
          enabled: true,
          path: "/readyz",
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        tags: args.tags ?? {},
      },
      { parent: this },
    );

    const service = new ServiceGroup(
      name,
      {
        ...group,
        drainSeconds,
        sourceSecurityGroupIds: [loadBalancerSecurityGroupId],
        targetGroupArns: [targetGroup.arn],
      },
      { parent: this },
    );

    this.targetGroupArn = targetGroup.arn;
    this.targetGroupArnSuffix = targetGroup.arnSuffix;
    this.securityGroupId = service.securityGroupId;
    this.serviceName = service.serviceName;
    this.registerOutputs({ targetGroupArn: this.targetGroupArn, serviceName: this.serviceName });
  }
}
