import { recordComponents } from "../../test/plan/harness.ts";
import {
  COUNTED_BODY_RULES,
  WebFirewall,
  decimalAbove,
  payloadTooLargeBody,
} from "./webFirewall.ts";

// The WebFirewall component on its own, under the mocks. stacks/awsEdge.test.ts checks it
// against the catalog's limits.

interface Rule {
  name: string;
  priority: number;
  statement: Record<string, Record<string, unknown>>;
}

const firewall = (maxBodyBytes?: number) =>
  recordComponents(
    () =>
      new WebFirewall("edge", {
        loadBalancerArn: "arn:alb",
        rateLimit: 1500,
        maxBodyBytes,
        logRetentionDays: 30,
        tags: { project: "p" },
      }),
  );

test("the rate limit first, then the body limit, then the managed groups with body rules counted", async () => {
  const records = await firewall(250_000);
  const acl = records.one("aws:wafv2/webAcl:WebAcl", "edge-waf");
  const rules = acl.inputs["rules"] as Rule[];
  expect(rules.map((r) => [r.priority, r.name])).toEqual([
    [0, "rate-per-ip"],
    [1, "body-size"],
    [2, "AWSManagedRulesCommonRuleSet"],
    [3, "AWSManagedRulesKnownBadInputsRuleSet"],
  ]);
  expect(rules[0]!.statement["rateBasedStatement"]).toEqual({
    limit: 1500,
    aggregateKeyType: "IP",
  });
  expect(rules[1]!.statement["regexMatchStatement"]!["regexString"]).toBe(decimalAbove(250_000));
  expect(
    (
      rules[2]!.statement["managedRuleGroupStatement"]!["ruleActionOverrides"] as { name: string }[]
    ).map((o) => o.name),
  ).toEqual(COUNTED_BODY_RULES);
  expect(acl.inputs["customResponseBodies"]).toEqual([
    {
      key: "payload-too-large",
      contentType: "APPLICATION_JSON",
      content: payloadTooLargeBody(250_000),
    },
  ]);
  expect(
    records.one("aws:wafv2/webAclAssociation:WebAclAssociation", "edge-waf").inputs,
  ).toMatchObject({ resourceArn: "arn:alb" });
});

test("logs to a group WAF accepts, named by the stack, with the API key redacted", async () => {
  const records = await firewall();
  expect(records.one("aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs").inputs).toMatchObject({
    name: "aws-waf-logs-edge-dev",
    retentionInDays: 30,
  });
  expect(
    records.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "edge-waf")
      .inputs,
  ).toMatchObject({ redactedFields: [{ singleHeader: { name: "authorization" } }] });
  // Without a body limit there is no body rule and no 413 body.
  const acl = records.one("aws:wafv2/webAcl:WebAcl", "edge-waf");
  expect((acl.inputs["rules"] as Rule[]).map((r) => r.name)).not.toContain("body-size");
  expect(acl.inputs["customResponseBodies"]).toBeUndefined();
});
