import { readFileSync } from "node:fs";
import type { EdgeLimits, RoutingAlbArgs } from "../components/aws/routingAlb.ts";
import { RoutingAlb } from "../components/aws/routingAlb.ts";
import { decimalAbove, payloadTooLargeBody } from "../components/aws/webFirewall.ts";
import type { Catalog } from "../platform/catalog/index.ts";
import { catalog, edgeLimits, services } from "../platform/catalog/index.ts";
import type { RunResult } from "../test/plan/harness.ts";
import { runProgram } from "../test/plan/harness.ts";
import type { ResourceRecord } from "../test/plan/records.ts";
import { keepAliveTimeoutMs } from "../services/shared/http.ts";

// The public edge on AWS (ALB and WAF) against what the catalog lets requests do: bodies as large
// as its largest `maxBodyBytes`, silences as long as its `timeouts`.

const webAcl = "aws:wafv2/webAcl:WebAcl";

interface WafRule {
  name: string;
  priority: number;
  action?: unknown;
  statement: Record<string, Record<string, unknown>>;
}

const rules = (acl: ResourceRecord) => acl.inputs["rules"] as WafRule[];

const largestBody = (c: Catalog) => Math.max(...services(c).map((s) => s.traffic.maxBodyBytes));

/** The RoutingAlb alone, with the WAF on and the catalog's edge limits, under the mocks. */
function edge(
  limits: EdgeLimits | undefined,
  extra: Partial<RoutingAlbArgs> = {},
): Promise<RunResult> {
  return runProgram({
    stack: "dev",
    program: () => {
      const alb = new RoutingAlb("edge", {
        vpcId: "vpc-1",
        vpcCidrBlock: "10.0.0.0/16",
        subnetIds: ["subnet-a", "subnet-b"],
        targets: { api: { name: "edge-api-tg" } },
        routes: [],
        defaultTarget: "api",
        targetPort: 8080,
        waf: { rateLimit: 2000 },
        limits,
        ...extra,
      });
      return { url: alb.url, endpoints: alb.url.apply((url): Record<string, string> => ({ url })) };
    },
  });
}

describe("WAF and request bodies", () => {
  test("prod's common rule set counts, not blocks, bodies over WAF's 8 KB view and the body patterns prompts match (B7)", async () => {
    const prod = await runProgram({ stack: "prod", secrets: {} });
    const common = rules(prod.records.one(webAcl, "platform-waf")).find(
      (r) => r.name === "AWSManagedRulesCommonRuleSet",
    )!;
    expect(common.statement["managedRuleGroupStatement"]).toMatchObject({
      name: "AWSManagedRulesCommonRuleSet",
      ruleActionOverrides: [
        "SizeRestrictions_BODY",
        "CrossSiteScripting_BODY",
        "GenericRFI_BODY",
        "GenericLFI_BODY",
        "EC2MetaDataSSRF_BODY",
      ].map((name) => ({ name, actionToUse: { count: {} } })),
    });
    // The same patterns keep blocking where a prompt does not go: nothing else is overridden.
    const overridden = (
      common.statement["managedRuleGroupStatement"]!["ruleActionOverrides"] as { name: string }[]
    ).map((o) => o.name);
    expect(overridden.every((n) => n.endsWith("_BODY"))).toBe(true);
    // Logged, into a group WAF accepts, that names the stack, with the API key redacted.
    const logging = prod.records.one(
      "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
      "platform-waf",
    );
    const group = prod.records.one("aws:cloudwatch/logGroup:LogGroup", "platform-waf-logs");
    expect(group.inputs).toMatchObject({ name: "aws-waf-logs-platform-prod", retentionInDays: 90 });
    expect(logging.inputs).toMatchObject({
      logDestinationConfigs: [expect.stringContaining("platform-waf-logs")],
      redactedFields: [{ singleHeader: { name: "authorization" } }],
    });
    // The stack passes the catalog's traffic, so the deployed ACL holds the limit of its own.
    const body = rules(prod.records.one(webAcl, "platform-waf")).find(
      (r) => r.name === "body-size",
    );
    expect(body?.statement["regexMatchStatement"]?.["regexString"]).toBe(
      decimalAbove(edgeLimits(catalog).maxBodyBytes),
    );
  });

  test("a Content-Length over the catalog's largest body gets a JSON 413, before other rules", async () => {
    const limit = largestBody(catalog);
    // The storage service's uploads, far above the 8 KB the managed rule allowed.
    expect(limit).toBeGreaterThan(8 * 1024 * 1024);
    const run = await edge(edgeLimits(catalog));
    const acl = run.records.one(webAcl, "edge-waf");
    const body = rules(acl).find((r) => r.name === "body-size")!;
    expect(body.statement["regexMatchStatement"]).toEqual({
      regexString: decimalAbove(limit),
      fieldToMatch: { singleHeader: { name: "content-length" } },
      textTransformations: [{ priority: 0, type: "NONE" }],
    });
    expect(body.action).toEqual({
      block: { customResponse: { responseCode: 413, customResponseBodyKey: "payload-too-large" } },
    });
    expect(acl.inputs["customResponseBodies"]).toEqual([
      {
        key: "payload-too-large",
        contentType: "APPLICATION_JSON",
        content: payloadTooLargeBody(limit),
      },
    ]);
    const managed = rules(acl).filter((r) => r.statement["managedRuleGroupStatement"]);
    for (const m of managed) expect(m.priority).toBeGreaterThan(body.priority);
    const pattern = new RegExp(decimalAbove(limit));
    expect([String(limit), String(limit + 1)].map((v) => pattern.test(v))).toEqual([false, true]);
  });

  test("the body limit follows the catalog", async () => {
    // edgeLimits(catalog) picks the largest body (services/router/router.test.ts checks it).
    const run = await edge({ maxBodyBytes: 250_000, longestSilenceMs: 10 });
    const body = rules(run.records.one(webAcl, "edge-waf")).find((r) => r.name === "body-size")!;
    expect(body.statement["regexMatchStatement"]!["regexString"]).toBe(decimalAbove(250_000));
    const none = (await edge(undefined)).records.one(webAcl, "edge-waf");
    expect(rules(none).map((r) => r.name)).not.toContain("body-size");
  });

  test("decimalAbove matches exactly the numbers above its limit", () => {
    const limits = [0, 1, 9, 10, 99, 100, 8192, 19_999, 8_454_144, 99_999_999];
    for (const limit of limits) {
      const pattern = new RegExp(decimalAbove(limit));
      const samples = [0, 1, limit - 1, limit, limit + 1, limit * 10, limit + 1000, 10 ** 9]
        .concat(Array.from({ length: 200 }, (_, i) => Math.floor((limit * 2 * i) / 200)))
        .filter((n) => n >= 0);
      for (const n of samples) {
        expect({ limit, n, above: pattern.test(String(n)) }).toEqual({
          limit,
          n,
          above: n > limit,
        });
        expect({ limit, n, padded: pattern.test(`00${n}`) }).toEqual({
          limit,
          n,
          padded: n > limit,
        });
      }
      for (const junk of ["", "-1", "1e9", "12 34", `${limit + 1}x`])
        expect({ limit, junk, match: pattern.test(junk) }).toEqual({ limit, junk, match: false });
      // WAF refuses capturing groups.
      expect(decimalAbove(limit)).not.toMatch(/\((?!\?:)/);
    }
  });
});

describe("ALB idle timeout", () => {
  const silenceMs = (c: Catalog) =>
    Math.max(
      ...services(c).map((s) =>
        Math.max(s.traffic.timeouts.firstByteMs, s.traffic.timeouts.idleMs),
      ),
    );

  test("the ALB drops an idle connection before the gateways do, and after any stream pause", async () => {
    const dev = await runProgram({ stack: "dev", secrets: {} });
    const [alb] = dev.records.byType("aws:lb/loadBalancer:LoadBalancer");
    const idleMs = (alb!.inputs["idleTimeout"] as number) * 1000;
    expect(idleMs).toBeLessThan(keepAliveTimeoutMs);
    expect(idleMs).toBeGreaterThan(silenceMs(catalog));
  });

  test("a catalog silence the ALB would cut refuses to deploy", async () => {
    const slow = { maxBodyBytes: 1000, longestSilenceMs: 90_000 };
    await expect(edge(slow)).rejects.toThrow(
      "edge: idle timeout 60 s must exceed the catalog's longest silence (traffic.timeouts), 90000 ms",
    );
    await expect(edge(edgeLimits(catalog), { idleTimeoutSeconds: 20 })).rejects.toThrow(
      "idle timeout 20 s must exceed",
    );
  });
});

describe("docs/aws.md", () => {
  test("every request it sends to the stack's URL takes a path the ALB forwards", async () => {
    const doc = readFileSync("docs/aws.md", "utf8");
    const paths = [...doc.matchAll(/\$\(pulumi stack output url\)(\/[^"'\s)]*)/g)].map(
      (m) => m[1]!,
    );
    expect(paths.length).toBeGreaterThan(0);
    const dev = await runProgram({ stack: "dev", secrets: {} });
    const patterns = dev.records
      .byType("aws:lb/listenerRule:ListenerRule")
      .flatMap((r) => (r.inputs["conditions"] as { pathPattern?: { values: string[] } }[]) ?? [])
      .flatMap((c) => c.pathPattern?.values ?? []);
    // ALB path patterns: `*` is any run of characters, `?` one character.
    const forwarded = (path: string) =>
      patterns.some((p) =>
        new RegExp(
          `^${p
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
        ).test(path),
      );
    for (const path of paths)
      expect({ path, forwarded: forwarded(path) }).toEqual({ path, forwarded: true });
  });
});
