import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** The common rule set's body rules the WAF counts instead of blocking (see `firewall`). */
export const COUNTED_BODY_RULES = [
  "SizeRestrictions_BODY",
  "CrossSiteScripting_BODY",
  "GenericRFI_BODY",
  "GenericLFI_BODY",
  "EC2MetaDataSSRF_BODY",
];

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

export interface WebFirewallArgs {
  /** The load balancer the web ACL guards. */
  loadBalancerArn: pulumi.Input<string>;
  /** Requests per client IP in 5 minutes before it is blocked. */
  rateLimit: number;
  /** Given, a body announced larger than this is refused with a JSON 413. */
  maxBodyBytes?: number;
  /** Days to keep the WAF's log. */
  logRetentionDays: number;
  tags?: Record<string, string>;
}

/**
 * A regional WAF web ACL on a load balancer: AWS managed rule groups (common exploits, known bad
 * inputs), a per-IP rate limit and, given `maxBodyBytes`, a 413 for larger bodies; what it blocks
 * and counts is logged.
 */
export class WebFirewall extends pulumi.ComponentResource {
  constructor(name: string, args: WebFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:WebFirewall", name, {}, opts);
    const { rateLimit, maxBodyBytes, logRetentionDays } = args;
    const tags = args.tags ?? {};
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
      { resourceArn: args.loadBalancerArn, webAclArn: acl.arn },
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
    this.registerOutputs({});
  }
}
