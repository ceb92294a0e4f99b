import { defaultCatalog } from "../../platform/catalog/default.ts";
import type { CatalogInput } from "../../platform/catalog/index.ts";
import { CatalogError, validateCatalog } from "../../platform/catalog/index.ts";
import { awsCatalogProblems, checkAwsCatalog } from "./catalogRules.ts";

// AWS's rules for a catalog that every other target accepts: each case breaks one rule and
// expects the message to name the catalog field (or the stack) to change.

const settings = { kafka: "provisioned", maxScaleFactor: 3 } as const;

function variant(change: (c: CatalogInput) => void): ReturnType<typeof validateCatalog> {
  const copy = structuredClone(defaultCatalog);
  change(copy);
  return validateCatalog(copy);
}

/** The default catalog with its `identity` domain renamed (services and default follow). */
function renameDomain(c: CatalogInput, to: string): void {
  c.domains[to] = c.domains["identity"]!;
  delete c.domains["identity"];
  for (const s of Object.values(c.services)) if (s.domain === "identity") s.domain = to;
}

test("the default catalog fits AWS on a plain stack name", () => {
  expect(awsCatalogProblems(validateCatalog(defaultCatalog), settings, "dev")).toEqual([]);
});

describe("MSK client subnets (F3)", () => {
  test.each([4, 6])("%i zones are refused with provisioned MSK, naming catalog.zones", (zones) => {
    const problems = awsCatalogProblems(
      variant((c) => (c.zones = zones)),
      settings,
      "dev",
    );
    expect(problems).toEqual([
      `catalog.zones: MSK takes 2 or 3 client subnets, one per zone, and every domain has a Kafka cluster on AWS (got ${zones} zones)`,
    ]);
  });

  test("3 zones are fine", () => {
    expect(
      awsCatalogProblems(
        variant((c) => (c.zones = 3)),
        settings,
        "dev",
      ),
    ).toEqual([]);
  });
});

describe("Cloud Map answers at most 8 records (B11)", () => {
  test("a service whose full scale-out passes 8 tasks is refused, naming its replicas", () => {
    const problems = awsCatalogProblems(
      variant((c) => (c.services["orders"]!.replicas = 3)),
      settings,
      "dev",
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^catalog\.services\.orders\.replicas: 3 replicas scale out to 9 tasks \(platform:maxScaleFactor 3\), but Cloud Map answers "orders" with at most 8/,
      ),
    ]);
  });

  test("a gateway tier is held to the same limit", () => {
    const problems = awsCatalogProblems(
      variant((c) => (c.domains["business"]!.gateway.replicas = 5)),
      { ...settings, maxScaleFactor: 2 },
      "dev",
    );
    expect(problems).toEqual([
      expect.stringMatching(/^catalog\.domains\.business\.gateway\.replicas: 5 replicas/),
    ]);
  });

  test("exactly 8 tasks at full scale-out is fine", () => {
    const catalog = variant((c) => (c.services["orders"]!.replicas = 4));
    expect(awsCatalogProblems(catalog, { ...settings, maxScaleFactor: 2 }, "dev")).toEqual([]);
  });
});

describe("name budgets (F4, B4)", () => {
  test("a domain name that overflows its target group's 32 characters is refused", () => {
    // platform-gw-<domain>-tg plus Pulumi's 8-character suffix: 17 characters for the two names.
    const problems = awsCatalogProblems(
      variant((c) => renameDomain(c, "identities")),
      settings,
      "dev",
    );
    expect(problems).toContain(
      'catalog.domains.identities: its target group name "platform-gw-identities-tg-0123abc" has 33 characters, over AWS\'s 32 (the name is made from catalog.domains.identities and catalog.name)',
    );
  });

  test("the longest domain name that fits is accepted", () => {
    expect(
      awsCatalogProblems(
        variant((c) => renameDomain(c, "identity0")),
        settings,
        "dev",
      ),
    ).toEqual([]);
  });

  test("a long catalog name is refused for the load balancer, naming catalog.name", () => {
    const problems = awsCatalogProblems(
      variant((c) => (c.name = "platform-eu-west-prod")),
      settings,
      "dev",
    );
    expect(problems).toContain(
      'catalog.name: its load balancer name "platform-eu-west-prod-alb-0123abc" has 33 characters, over AWS\'s 32',
    );
  });

  test("a long service version label overflows its IAM roles' 64 characters", () => {
    const problems = awsCatalogProblems(
      variant((c) => {
        c.name = "platform-eu-west";
        c.services["subscription-reconciliation-job"] = {
          domain: "business",
          routes: ["/v1/reconcile"],
          versions: [
            { name: "v1", weight: 90 },
            { name: "v12", weight: 10 },
          ],
        };
      }),
      settings,
      "dev",
    );
    expect(problems).toContain(
      'catalog.services.subscription-reconciliation-job: its IAM role name "platform-eu-west-subscription-reconciliation-job-v12-exec-0123abc" has 65 characters, over AWS\'s 64 (the name is made from catalog.services.subscription-reconciliation-job and catalog.name)',
    );
  });

  test("a stack name with a dot cannot name the dashboard or a task family", () => {
    const problems = awsCatalogProblems(validateCatalog(defaultCatalog), settings, "eu.prod");
    expect(problems).toContain(
      'the stack name "eu.prod": its CloudWatch dashboard name "platform-eu.prod" must be letters, digits, hyphens and underscores (the name is made from the stack name "eu.prod" and catalog.name)',
    );
  });

  test("checkAwsCatalog throws a CatalogError listing every problem", () => {
    const catalog = variant((c) => {
      c.zones = 4;
      c.services["orders"]!.replicas = 3;
    });
    expect(() => checkAwsCatalog(catalog, settings, "dev")).toThrow(CatalogError);
    try {
      checkAwsCatalog(catalog, settings, "dev");
    } catch (err) {
      expect((err as CatalogError).problems).toHaveLength(2);
    }
  });
});
