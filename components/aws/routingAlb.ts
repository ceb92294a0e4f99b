import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AlbAccessLogs } from "./albAccessLogs.ts";
import { AlbCertificate } from "./albCertificate.ts";
import type { AlbRoute } from "./albListenerRules.ts";
import { AlbListenerRules } from "./albListenerRules.ts";
import { movedFrom } from "./moved.ts";
import { WebFirewall } from "./webFirewall.ts";

/**
 * One target group, which a tier's ECS service registers its tasks in. The load balancer owns
 * its target groups, as awsx's does, so that the tiers can be built after it and wait for its
 * rules: ECS attaches a target group to a service only once a rule forwards to it.
 */
export interface AlbTarget {
  /** The target group's Pulumi name. */
  name: string;
  /**
   * Seconds a deregistering target keeps its in-flight requests: the tier's graceful shutdown
   * (ECS waits as long before it sends SIGTERM). Default 10.
   */
  drainSeconds?: number;
  /** Seconds a new target ramps up its share of traffic (warm caches, pools). Default 30. */
  slowStartSeconds?: number;
  /** Where the target group was declared before (a rename or a move keeps its state). */
  aliases?: pulumi.Input<pulumi.Alias>[];
}

/** What the catalog lets one service's requests do, which the load balancer must let them do too. */
/** What the edge must let through: the largest body and the longest silence of a routed service. */
export interface EdgeLimits {
  /** The largest request body a gateway accepts, in bytes. */
  maxBodyBytes: number;
  /** The longest wait for a first byte or between streamed chunks, in ms. */
  longestSilenceMs: number;
}

export interface RoutingAlbArgs {
  vpcId: pulumi.Input<string>;
  /** The VPC's address block: the only destination the load balancer may send to. */
  vpcCidrBlock: pulumi.Input<string>;
  /** Public subnets, one per availability zone. */
  subnetIds: pulumi.Input<string>[];
  /** The target groups, by key; each is checked on `/readyz` at `targetPort`. */
  targets: Record<string, AlbTarget>;
  /** Matched in order: the first route gets the highest priority. */
  routes: AlbRoute[];
  /** The key of the target that receives every `/v1/*` path that no route claims. */
  defaultTarget: string;
  /**
   * A public DNS name in a Route 53 zone: the ALB gets an alias record there and, unless
   * `certificateArn` is given, an ACM certificate validated through the same zone.
   */
  domain?: { name: string; hostedZoneId: pulumi.Input<string> };
  /** An existing ACM certificate ARN. With it (or with `domain`), HTTPS serves and 80 redirects. */
  certificateArn?: pulumi.Input<string>;
  /** Port the targets listen on, for the egress rule. */
  targetPort: number;
  /** Default true: a `pulumi destroy` cannot delete the public entry point (or its logs). */
  deletionProtection?: boolean;
  /**
   * A WAF web ACL with AWS managed rules and this per-IP rate limit (requests per 5 minutes);
   * with `limits`, it also refuses bodies above `limits.maxBodyBytes`.
   */
  waf?: { rateLimit: number };
  /**
   * The catalog's edge limits (`edgeLimits(catalog)`), so that the edge follows the catalog: the
   * WAF's body limit, and the silence the idle timeout must outlast.
   */
  limits?: EdgeLimits;
  /** Days to keep access logs (and the WAF's log). Default 30. */
  accessLogRetentionDays?: number;
  /**
   * Seconds a connection may stay silent. Default `defaultIdleTimeoutSeconds`; it must exceed
   * `limits.longestSilenceMs` (checked) and stay below the targets' keep-alive.
   */
  idleTimeoutSeconds?: number;
  tags?: Record<string, string>;
}

/** The API's error shape (OpenAI-style), answered by the load balancer for unknown paths. */
export const noRouteBody = JSON.stringify({
  error: { message: "no route", type: "invalid_request_error", code: "route_not_found" },
});

/**
 * The targets (gateways, services/shared/http.ts) keep idle connections 65 s. The ALB reuses its
 * connections to them, so it must drop one before the target does: otherwise it may send a
 * request on a connection the target is closing, and the client gets a 502. 60 s still outlasts
 * the catalog's default silences (10 s to the first byte, 30 s between streamed chunks).
 */
export const defaultIdleTimeoutSeconds = 60;

/**
 * The public entry point and routing tier: an internet-facing ALB whose listener rules send
 * each route prefix to its target group, `/v1/*` to the default one, and answer anything else
 * with a JSON 404. Its security group admits the web ports from anywhere
 * and sends only to the targets' port inside the VPC. Its parts, as awsx splits a load balancer
 * from what it uses: AlbAccessLogs (the encrypted log bucket), AlbListenerRules, and with a
 * domain or a WAF, AlbCertificate and WebFirewall.
 */
export class RoutingAlb extends pulumi.ComponentResource {
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly dnsName: pulumi.Output<string>;
  /** For CloudWatch metric dimensions (`app/<name>/<id>`). */
  public readonly arnSuffix: pulumi.Output<string>;
  public readonly url: pulumi.Output<string>;
  public readonly accessLogBucket: pulumi.Output<string>;
  /** The listener rules, for resources that must wait until routing exists. */
  public readonly rules: aws.lb.ListenerRule[];
  /** The target groups, by the keys of `targets`. */
  public readonly targetGroups: Record<string, aws.lb.TargetGroup>;

  constructor(name: string, args: RoutingAlbArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:RoutingAlb", name, {}, opts);
    const tags = args.tags ?? {};
    const parent = { parent: this };
    const protect = args.deletionProtection ?? true;
    const idleTimeout = args.idleTimeoutSeconds ?? defaultIdleTimeoutSeconds;
    const silence = args.limits?.longestSilenceMs ?? 0;
    // The ALB closing a silent connection first would cut a stream or turn a slow answer (the
    // gateway's own 504 with its fallbacks) into the ALB's bare 504.
    if (idleTimeout * 1000 <= silence)
      throw new Error(
        `${name}: idle timeout ${idleTimeout} s must exceed the catalog's longest silence ` +
          `(traffic.timeouts), ${silence} ms`,
      );
    const certificateArn =
      args.certificateArn ??
      (args.domain &&
        new AlbCertificate(name, { domain: args.domain, tags }, movedFrom(this)).certificateArn);
    const https = certificateArn !== undefined;

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
          tags,
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
        tags,
      },
      parent,
    );

    const retentionDays = args.accessLogRetentionDays ?? 30;
    const logs = new AlbAccessLogs(name, { retentionDays, protect, tags }, movedFrom(this));
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
        enableDeletionProtection: protect,
        idleTimeout: idleTimeout,
        accessLogs: { bucket: logs.bucketName, prefix: "alb", enabled: true },
        tags,
      },
      { parent: this, dependsOn: [logs.policy] },
    );

    if (args.waf) {
      new WebFirewall(
        name,
        {
          loadBalancerArn: alb.arn,
          rateLimit: args.waf.rateLimit,
          maxBodyBytes: args.limits?.maxBodyBytes,
          logRetentionDays: retentionDays,
          tags,
        },
        movedFrom(this),
      );
    }

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
            certificateArn,
            sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
            defaultActions: [notFound],
            tags,
          },
          parent,
        )
      : httpListener;

    this.targetGroups = Object.fromEntries(
      Object.entries(args.targets).map(([key, target]) => [
        key,
        new aws.lb.TargetGroup(
          target.name,
          {
            vpcId: args.vpcId,
            targetType: "ip",
            protocol: "HTTP",
            port: args.targetPort,
            deregistrationDelay: target.drainSeconds ?? 10,
            slowStart: target.slowStartSeconds ?? 30,
            // `/readyz`: a gateway whose dependencies are down stops receiving traffic while
            // ECS (which checks `/healthz`) leaves it running.
            healthCheck: {
              enabled: true,
              path: "/readyz",
              matcher: "200",
              interval: 10,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 3,
            },
            tags,
          },
          { parent: this, aliases: target.aliases },
        ),
      ]),
    );
    this.rules = new AlbListenerRules(
      name,
      {
        listenerArn: listener.arn,
        targetGroupArns: Object.fromEntries(
          Object.entries(this.targetGroups).map(([key, group]) => [key, group.arn]),
        ),
        routes: args.routes,
        defaultTarget: args.defaultTarget,
        tags,
      },
      movedFrom(this),
    ).rules;

    const host = args.domain?.name;
    if (args.domain) {
      new aws.route53.Record(
        `${name}-alias`,
        {
          zoneId: args.domain.hostedZoneId,
          name: args.domain.name,
          type: "A",
          aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
        },
        parent,
      );
    }

    this.securityGroupId = securityGroup.id;
    this.dnsName = alb.dnsName;
    this.arnSuffix = alb.arnSuffix;
    // S3 checks, when a bucket's server access logging is set, that the target bucket's policy
    // admits the logging service: a bucket given this name as its target waits for the policy.
    // (moto found the race: prod's blob bucket asked before the policy was in place.)
    this.accessLogBucket = pulumi
      .all([logs.bucketName, logs.policy.id])
      .apply(([bucketName]) => bucketName);
    this.url = host
      ? pulumi.output(`https://${host}`)
      : pulumi.interpolate`${https ? "https" : "http"}://${alb.dnsName}`;
    this.registerOutputs({
      securityGroupId: this.securityGroupId,
      dnsName: this.dnsName,
      url: this.url,
      accessLogBucket: this.accessLogBucket,
    });
  }
}
