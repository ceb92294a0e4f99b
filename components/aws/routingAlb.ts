import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** A path prefix (`/v1/orders`) and the target group that serves it and everything below it. */
export interface AlbRoute {
  prefix: string;
  targetGroupArn: pulumi.Input<string>;
}

export interface RoutingAlbArgs {
  vpcId: pulumi.Input<string>;
  /** The VPC's address block: the only destination the load balancer may send to. */
  vpcCidrBlock: pulumi.Input<string>;
  /** Public subnets, one per availability zone. */
  subnetIds: pulumi.Input<string>[];
  /** Matched in order: the first route gets the highest priority. */
  routes: AlbRoute[];
  /** Receives every `/v1/*` path that no route claims. */
  defaultTargetGroupArn: pulumi.Input<string>;
  /** An ACM certificate ARN: when given, HTTPS on 443 serves traffic and 80 redirects to it. */
  certificateArn?: pulumi.Input<string>;
  /** Port the targets listen on, for the egress rule. */
  targetPort: number;
  /** Default true: a `pulumi destroy` cannot delete the public entry point by accident. */
  deletionProtection?: boolean;
  /** Seconds an idle client connection is kept; long enough for streamed answers. Default 120. */
  idleTimeoutSeconds?: number;
  tags?: Record<string, string>;
}

/** The API's error shape (OpenAI-style), answered by the load balancer for unknown paths. */
export const noRouteBody = JSON.stringify({
  error: { message: "no route", type: "invalid_request_error", code: "route_not_found" },
});

/** ALB rule conditions accept at most 5 values in total; larger sets split into several rules. */
export const maxConditionValues = 5;

/** The path patterns of a prefix: the prefix itself and everything below it. */
export function pathPatterns(prefix: string): string[] {
  return [prefix, `${prefix}/*`];
}

/** Splits `values` into groups of at most `size`, keeping a prefix's patterns together. */
export function chunk<T>(values: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/**
 * The public entry point and routing tier: an internet-facing ALB whose listener rules send
 * each route prefix to its target group, `/v1/*` to the default one, and answer anything else
 * with a JSON 404. Its security group admits the web ports from anywhere and sends only to the
 * targets' port inside the VPC.
 */
export class RoutingAlb extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly dnsName: pulumi.Output<string>;
  public readonly url: pulumi.Output<string>;
  /** The listener rules, for resources that must wait until routing exists. */
  public readonly rules: aws.lb.ListenerRule[];

  constructor(name: string, args: RoutingAlbArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:RoutingAlb", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const https = args.certificateArn !== undefined;

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: `${name}: public web ports`,
        tags: { ...tags, Name: `${name}-sg` },
      },
      parent,
    );
    for (const port of https ? [80, 443] : [80]) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-in-${port}`,
        {
          securityGroupId: securityGroup.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: `public ${port === 443 ? "HTTPS" : "HTTP"}`,
        },
        parent,
      );
    }
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-out`,
      {
        securityGroupId: securityGroup.id,
        cidrIpv4: args.vpcCidrBlock,
        ipProtocol: "tcp",
        fromPort: args.targetPort,
        toPort: args.targetPort,
        description: "to targets inside the VPC",
      },
      parent,
    );

    const alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: "application",
        internal: false,
        subnets: args.subnetIds,
        securityGroups: [securityGroup.id],
        // Requests with malformed headers never reach the gateways (request smuggling).
        dropInvalidHeaderFields: true,
        desyncMitigationMode: "strictest",
        enableDeletionProtection: args.deletionProtection ?? true,
        idleTimeout: args.idleTimeoutSeconds ?? 120,
        tags,
      },
      parent,
    );

    const notFound = {
      type: "fixed-response",
      fixedResponse: {
        contentType: "application/json",
        statusCode: "404",
        messageBody: noRouteBody,
      },
    };
    const httpListener = new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [
          https
            ? {
                type: "redirect",
                redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
              }
            : notFound,
        ],
        tags,
      },
      parent,
    );
    const listener = https
      ? new aws.lb.Listener(
          `${name}-https`,
          {
            loadBalancerArn: alb.arn,
            port: 443,
            protocol: "HTTPS",
            certificateArn: args.certificateArn,
            sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
            defaultActions: [notFound],
            tags,
          },
          parent,
        )
      : httpListener;

    // One rule per group of at most 5 path patterns; priorities follow the route order, and
    // the `/v1/*` catch-all comes last (ALB evaluates the lowest number first).
    const groups = args.routes.flatMap((route) =>
      chunk(pathPatterns(route.prefix), maxConditionValues).map((values) => ({ route, values })),
    );
    const forward = (targetGroupArn: pulumi.Input<string>) => [{ type: "forward", targetGroupArn }];
    this.rules = groups.map(
      ({ route, values }, i) =>
        new aws.lb.ListenerRule(
          `${name}-route-${i + 1}`,
          {
            listenerArn: listener.arn,
            priority: (i + 1) * 10,
            conditions: [{ pathPattern: { values } }],
            actions: forward(route.targetGroupArn),
            tags: { ...tags, route: route.prefix },
          },
          parent,
        ),
    );
    this.rules.push(
      new aws.lb.ListenerRule(
        `${name}-route-default`,
        {
          listenerArn: listener.arn,
          // The highest priority number ALB allows: evaluated after every route.
          priority: 50000,
          conditions: [{ pathPattern: { values: ["/v1/*"] } }],
          actions: forward(args.defaultTargetGroupArn),
          tags: { ...tags, route: "/v1/*" },
        },
        parent,
      ),
    );

    this.securityGroupId = securityGroup.id;
    this.dnsName = alb.dnsName;
    this.url = pulumi.interpolate`${https ? "https" : "http"}://${alb.dnsName}`;
    this.registerOutputs({
      securityGroupId: this.securityGroupId,
      dnsName: this.dnsName,
      url: this.url,
    });
  }
}
