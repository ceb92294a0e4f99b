import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { makeBucketPrivate } from "./privateBucket.ts";

/**
 * A path prefix (`/v1/orders`) and the target (a gateway tier) that serves it and everything
 * below it. Canaries are the gateways' (their version router splits by weight and honours
 * `x-api-version`), so the edge routes by path alone.
 */
export interface AlbRoute {
  prefix: string;
  /** A key of `targets`. */
  target: string;
}

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

/** Where in the access-log bucket the stack's other buckets log their requests. */
export const S3_ACCESS_LOG_PREFIX = "s3/";

/** The common rule set's body rules the WAF counts instead of blocking (see `firewall`). */
export const COUNTED_BODY_RULES = [
  "SizeRestrictions_BODY",
  "CrossSiteScripting_BODY",
  "GenericRFI_BODY",
  "GenericLFI_BODY",
  "EC2MetaDataSSRF_BODY",
];

/** The API's error shape (OpenAI-style), answered by the load balancer for unknown paths. */
export const noRouteBody = JSON.stringify({
  error: { message: "no route", type: "invalid_request_error", code: "route_not_found" },
});

/** The API's error shape for a body over the limit, answered by the WAF. */
export function payloadTooLargeBody(limit: number): string {
  return JSON.stringify({
    error: {
      message: `request body exceeds ${limit} bytes`,
      type: "invalid_request_error",
      code: "payload_too_large",
    },
  });
}

/**
 * The targets (gateways, services/shared/http.ts) keep idle connections 65 s. The ALB reuses its
 * connections to them, so it must drop one before the target does: otherwise it may send a
 * request on a connection the target is closing, and the client gets a 502. 60 s still outlasts
 * the catalog's default silences (10 s to the first byte, 30 s between streamed chunks).
 */
export const defaultIdleTimeoutSeconds = 60;

/**
 * A regular expression for the decimal numbers above `limit`: more significant digits than it,
 * or as many and a greater digit where they first differ. Groups are non-capturing, as AWS WAF
 * refuses capturing ones.
 */
export function decimalAbove(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new Error(`decimalAbove: ${limit} is not a whole number`);
  const digits = String(limit);
  const branches = [`[1-9]\\d{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    if (d === 9) continue;
    const rest = digits.length - i - 1;
    const higher = d === 8 ? "9" : `[${d + 1}-9]`;
    branches.push(`${digits.slice(0, i)}${higher}${rest > 0 ? `\\d{${rest}}` : ""}`);
  }
  return `^0*(?:${branches.join("|")})$`;
}

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
 * with a JSON 404. Its security group admits the web ports from anywhere
 * and sends only to the targets' port inside the VPC. Access logs go to an encrypted bucket.
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
      args.certificateArn ?? (args.domain && this.certificate(name, args.domain, tags));
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
    const logs = this.createLogBucket(name, retentionDays, protect, tags);
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
        accessLogs: { bucket: logs.bucket.bucket, prefix: "alb", enabled: true },
        tags,
      },
      { parent: this, dependsOn: [logs.policy] },
    );

    if (args.waf) {
      this.firewall(name, alb, args.waf.rateLimit, args.limits?.maxBodyBytes, retentionDays, tags);
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
    const targetArn = (key: string) => {
      const group = this.targetGroups[key];
      if (!group)
        throw new Error(`${name}: a route names target "${key}", which is not in targets`);
      return group.arn;
    };

    // Priorities follow the route order (ALB evaluates the lowest number first); the `/v1/*`
    // catch-all comes last.
    const rules = args.routes.flatMap((route) =>
      chunk(pathPatterns(route.prefix), maxConditionValues).map((values) => ({ route, values })),
    );
    this.rules = rules.map(
      ({ route, values }, i) =>
        new aws.lb.ListenerRule(
          `${name}-route-${i + 1}`,
          {
            listenerArn: listener.arn,
            priority: (i + 1) * 10,
            conditions: [{ pathPattern: { values } }],
            actions: [{ type: "forward", targetGroupArn: targetArn(route.target) }],
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
          actions: [{ type: "forward", targetGroupArn: targetArn(args.defaultTarget) }],
          tags: { ...tags, route: "/v1/*" },
        },
        parent,
      ),
    );

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
    this.accessLogBucket = logs.bucket.bucket;
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

  /** An ACM certificate for `domain`, validated by DNS in its hosted zone; resolves once issued. */
  private certificate(
    name: string,
    domain: { name: string; hostedZoneId: pulumi.Input<string> },
    tags: Record<string, string>,
  ): pulumi.Output<string> {
    const parent = { parent: this };
    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      { domainName: domain.name, validationMethod: "DNS", tags },
      parent,
    );
    const option = cert.domainValidationOptions.apply((options) => {
      const first = options[0];
      if (!first) throw new Error(`${name}: ACM returned no DNS validation record`);
      return first;
    });
    const record = new aws.route53.Record(
      `${name}-cert-validation`,
      {
        zoneId: domain.hostedZoneId,
        name: option.resourceRecordName,
        type: option.resourceRecordType,
        records: [option.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      parent,
    );
    return new aws.acm.CertificateValidation(
      `${name}-cert`,
      { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
      parent,
    ).certificateArn;
  }

  /**
   * The access-log bucket: private, encrypted (SSE-S3, the only encryption ALB log delivery
   * supports), TLS-only, expiring old logs, writable by the region's load-balancer log delivery.
   */
  private createLogBucket(
    name: string,
    retentionDays: number,
    protect: boolean,
    tags: Record<string, string>,
  ): { bucket: aws.s3.Bucket; policy: aws.s3.BucketPolicy } {
    const parent = { parent: this };
    // Without deletion protection, `pulumi destroy` may empty the bucket; with it, logs survive.
    const bucket = new aws.s3.Bucket(`${name}-alb-logs`, { forceDestroy: !protect, tags }, parent);
    makeBucketPrivate(
      bucket,
      { accessBlock: `${name}-alb-logs`, ownership: `${name}-alb-logs` },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        rules: [
          // Every object; an empty filter draws the provider's warning (see blobBucket.ts).
          {
            id: "expire",
            status: "Enabled",
            filter: { prefix: "" },
            expiration: { days: retentionDays },
          },
        ],
      },
      parent,
    );
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const elbAccount = aws.elb.getServiceAccountOutput({}, parent).arn;
    const policy = new aws.s3.BucketPolicy(
      `${name}-alb-logs`,
      {
        bucket: bucket.id,
        policy: pulumi.all([bucket.arn, account, elbAccount]).apply(([arn, accountId, elb]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                // Regions older than August 2022 deliver as the regional ELB account, newer
                // ones as the log-delivery service; both may write only this account's prefix.
                Sid: "AlbLogDelivery",
                Effect: "Allow",
                Principal: { AWS: elb, Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${arn}/alb/AWSLogs/${accountId}/*`,
              },
              {
                // S3 server access logs of the stack's other buckets (BlobBucket's
                // `accessLogs`), under `s3/`, from buckets of this account only.
                // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
                Sid: "S3ServerAccessLogs",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${arn}/${S3_ACCESS_LOG_PREFIX}*`,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
              },
              {
                Sid: "TlsOnly",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        ),
      },
      parent,
    );
    return { bucket, policy };
  }

  /**
   * AWS managed rule groups (common exploits, known bad inputs), a per-IP rate limit and, given
   * `maxBodyBytes`, a 413 for larger bodies.
   */
  private firewall(
    name: string,
    alb: aws.lb.LoadBalancer,
    rateLimit: number,
    maxBodyBytes: number | undefined,
    logRetentionDays: number,
    tags: Record<string, string>,
  ): void {
    const visibility = (metric: string) => ({
      cloudwatchMetricsEnabled: true,
      metricName: `${name}-${metric}`,
      sampledRequestsEnabled: true,
    });
    const managed = (priority: number, group: string, counted: string[] = []) => ({
      name: group,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: "AWS",
          name: group,
          ...(counted.length > 0
            ? {
                ruleActionOverrides: counted.map((rule) => ({
                  name: rule,
                  actionToUse: { count: {} },
                })),
              }
            : {}),
        },
      },
      visibilityConfig: visibility(group),
    });
    // The body rule reads Content-Length, not the body: on an ALB, WAF sees only a body's first
    // 8 KB and a size constraint measures what it sees, so with oversizeHandling CONTINUE or
    // NO_MATCH a limit above 8 KB never matches, and MATCH refuses every body over 8 KB. A body
    // without Content-Length (chunked) passes here and meets the gateway's own limit.
    const bodyLimit =
      maxBodyBytes === undefined
        ? []
        : [
            {
              name: "body-size",
              priority: 1,
              action: {
                block: {
                  customResponse: { responseCode: 413, customResponseBodyKey: "payload-too-large" },
                },
              },
              statement: {
                regexMatchStatement: {
                  regexString: decimalAbove(maxBodyBytes),
                  fieldToMatch: { singleHeader: { name: "content-length" } },
                  textTransformations: [{ priority: 0, type: "NONE" }],
                },
              },
              visibilityConfig: visibility("body-size"),
            },
          ];
    const acl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        scope: "REGIONAL",
        description: `${name}: managed rules and a per-IP rate limit`,
        defaultAction: { allow: {} },
        rules: [
          {
            name: "rate-per-ip",
            priority: 0,
            action: { block: {} },
            statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: "IP" } },
            visibilityConfig: visibility("rate-per-ip"),
          },
          ...bodyLimit,
          // Counted, not blocking, so they still show in the metrics and the log:
          // SizeRestrictions_BODY refuses every body over 8 KB, below what the catalog accepts
          // (uploads, long conversations); the body's XSS, RFI, LFI and SSRF patterns match
          // ordinary chat prompts and uploaded text ("<script>", a URL, "../", 169.254.169.254
          // in a question about AWS). The API takes only validated JSON and multipart bodies
          // and renders no HTML; the same rules still block on the path, query and cookies.
          managed(2, "AWSManagedRulesCommonRuleSet", COUNTED_BODY_RULES),
          managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
        ],
        ...(maxBodyBytes === undefined
          ? {}
          : {
              customResponseBodies: [
                {
                  key: "payload-too-large",
                  contentType: "APPLICATION_JSON",
                  content: payloadTooLargeBody(maxBodyBytes),
                },
              ],
            }),
        visibilityConfig: visibility("acl"),
        tags,
      },
      { parent: this },
    );
    new aws.wafv2.WebAclAssociation(
      `${name}-waf`,
      { resourceArn: alb.arn, webAclArn: acl.arn },
      { parent: this },
    );
    // What the WAF blocked and counted, and why. WAF writes only to log groups named
    // `aws-waf-logs-*`; API keys are redacted before they are written.
    // https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
    const wafLogs = new aws.cloudwatch.LogGroup(
      `${name}-waf-logs`,
      {
        name: `aws-waf-logs-${name}-${pulumi.getStack()}`,
        retentionInDays: logRetentionDays,
        tags,
      },
      { parent: this },
    );
    new aws.wafv2.WebAclLoggingConfiguration(
      `${name}-waf`,
      {
        resourceArn: acl.arn,
        logDestinationConfigs: [wafLogs.arn],
        redactedFields: [{ singleHeader: { name: "authorization" } }],
      },
      { parent: this },
    );
  }
}
