import { defaultCatalog } from "./default.ts";
import {
  CatalogError,
  catalog,
  keyService,
  matchRoute,
  routingRules,
  serviceWithRole,
  validateCatalog,
  type CatalogInput,
} from "./index.ts";

/** A deep copy of the default catalog with `change` applied, so each case breaks one thing. */
function variant(change: (c: CatalogInput) => void): CatalogInput {
  const copy = structuredClone(defaultCatalog);
  change(copy);
  return copy;
}

function problemsOf(input: CatalogInput): readonly string[] {
  try {
    validateCatalog(input);
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return (err as CatalogError).problems;
  }
  throw new Error("expected the catalog to be rejected");
}

describe("catalog validation", () => {
  test("the default catalog is valid and has the topology of DESIGN.md", () => {
    expect(Object.keys(catalog.domains).sort()).toEqual(["business", "identity"]);
    expect(catalog.services["auth"]?.domain).toBe("identity");
    expect(catalog.services["orders"]?.domain).toBe("business");
    expect(catalog.zones).toBeGreaterThanOrEqual(2);
  });

  test("defaults are filled in", () => {
    expect(catalog.services["orders"]?.versions).toEqual([{ name: "v1", weight: 100, env: {} }]);
    expect(catalog.services["orders"]?.upgrade).toMatchObject({ canarySteps: [5, 25, 50, 100] });
    expect(catalog.services["orders"]?.cpu).toBe(256);
    expect(catalog.domains["identity"]?.data.redis.nodes).toBe(2);
    expect(catalog.containerPort).toBe(8080);
  });

  test("a replica count below two is rejected, naming the field", () => {
    const problems = problemsOf(variant((c) => (c.services["orders"]!.replicas = 1)));
    expect(problems).toEqual([
      expect.stringMatching(/^catalog\.services\.orders\.replicas: must be at least 2/),
    ]);
  });

  test("a fractional replica count of a gateway tier is rejected", () => {
    const problems = problemsOf(variant((c) => (c.domains["identity"]!.gateway.replicas = 2.5)));
    expect(problems[0]).toMatch(
      /^catalog\.domains\.identity\.gateway\.replicas: must be a whole number/,
    );
  });

  test("a duplicate route within a domain is rejected", () => {
    const problems = problemsOf(
      variant((c) => (c.services["payments"] = { domain: "business", routes: ["/v1/orders"] })),
    );
    expect(problems).toEqual([
      "catalog.services.payments.routes.0: duplicate route /v1/orders (already served by orders)",
    ]);
  });

  test("a route owned by two domains is rejected", () => {
    const problems = problemsOf(
      variant((c) => (c.services["users"] = { domain: "identity", routes: ["/v1/orders"] })),
    );
    expect(problems).toEqual([
      "catalog.services.users.routes.0: route /v1/orders is owned by two domains (business via orders, identity via users)",
    ]);
  });

  test("an unknown domain is rejected", () => {
    const problems = problemsOf(variant((c) => (c.services["orders"]!.domain = "billing")));
    expect(problems).toContain(
      'catalog.services.orders.domain: unknown domain "billing" (known: identity, business)',
    );
  });

  test("an unknown default domain is rejected", () => {
    expect(problemsOf(variant((c) => (c.defaultDomain = "nowhere")))[0]).toMatch(
      /^catalog\.defaultDomain: unknown domain "nowhere"/,
    );
  });

  test("a malformed route is rejected", () => {
    expect(problemsOf(variant((c) => (c.services["orders"]!.routes = ["orders"])))[0]).toMatch(
      /^catalog\.services\.orders\.routes\.0: must look like \/v1\/<segment>/,
    );
  });

  test("version weights must add up to 100", () => {
    const problems = problemsOf(
      variant(
        (c) =>
          (c.services["orders"]!.versions = [
            { name: "v1", weight: 90 },
            { name: "v2", weight: 20 },
          ]),
      ),
    );
    expect(problems).toEqual([
      "catalog.services.orders.versions: weights must add up to 100 (got 110)",
    ]);
  });

  test("a version's source, settings and the upgrade policy are checked, naming the field", () => {
    const problems = problemsOf(
      variant((c) => {
        c.services["orders"]!.versions = [
          { name: "v1", weight: 100 },
          { name: "v2", weight: 0, source: { ref: "../etc" }, env: { "lower-case": "1" } },
          { name: "v3", weight: 0, env: { DB_PASSWORD: "x" } },
        ];
        c.services["orders"]!.upgrade = { canarySteps: [50, 25], maxErrorRate: 2 };
      }),
    );
    expect(problems).toEqual([
      "catalog.services.orders.versions.1.source.ref: must be a git ref or commit",
      "catalog.services.orders.versions.1.env.lower-case: must be an environment variable name (A-Z, 0-9, _)",
      "catalog.services.orders.versions.2.env.DB_PASSWORD: must not be a secret (PASSWORD, SECRET, TOKEN, API_KEY): settings are plain config",
      "catalog.services.orders.upgrade.canarySteps: must rise step by step and end at 100",
      "catalog.services.orders.upgrade.maxErrorRate: Too big: expected number to be <=1",
    ]);
  });

  test("memory outside Fargate's range for the cpu is rejected", () => {
    const problems = problemsOf(
      variant((c) => Object.assign(c.services["orders"]!, { cpu: 1024, memory: 512 })),
    );
    expect(problems).toEqual([
      "catalog.services.orders.memory: must be 2048 to 8192 MiB in steps of 1024 for cpu 1024 (got 512)",
    ]);
  });

  // AWS's table of Fargate task sizes: a range is not enough, memory moves in steps, and 8 and 16
  // vCPU exist.
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
  test.each([
    [256, 1536, "must be one of 512, 1024, 2048 MiB for cpu 256 (got 1536)"],
    [512, 1536, "must be one of 1024, 2048, 3072, 4096 MiB for cpu 512 (got 1536)"],
    [2048, 4608, "must be 4096 to 16384 MiB in steps of 1024 for cpu 2048 (got 4608)"],
    [8192, 18432, "must be 16384 to 61440 MiB in steps of 4096 for cpu 8192 (got 18432)"],
    [16384, 36864, "must be 32768 to 122880 MiB in steps of 8192 for cpu 16384 (got 36864)"],
  ])(
    "cpu %i with %i MiB, inside the range but off AWS's table, is rejected",
    (cpu, memory, message) => {
      const problems = problemsOf(
        variant((c) => Object.assign(c.services["orders"]!, { cpu, memory })),
      );
      expect(problems).toEqual([`catalog.services.orders.memory: ${message}`]);
    },
  );

  test.each([
    [8192, 16384],
    [8192, 61440],
    [16384, 32768],
    [16384, 122880],
    [4096, 30720],
    [256, 2048],
  ])("cpu %i with %i MiB, on AWS's table, is accepted", (cpu, memory) => {
    const accepted = validateCatalog(
      variant((c) => Object.assign(c.services["orders"]!, { cpu, memory })),
    );
    expect(accepted.services["orders"]).toMatchObject({ cpu, memory });
  });

  // RDS and ElastiCache identifiers, which these names end up in, refuse a trailing hyphen and two
  // hyphens in a row.
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
  test.each([
    ["name", (c: CatalogInput, v: string) => (c.name = v)],
    ["services.orders.domain", (c: CatalogInput, v: string) => (c.services["orders"]!.domain = v)],
  ])("catalog.%s with a trailing or doubled hyphen is rejected", (field, set) => {
    for (const bad of ["shop-", "shop--eu"]) {
      const problems = problemsOf(variant((c) => set(c, bad)));
      expect(problems).toContainEqual(
        `catalog.${field}: must be lower-case letters, digits and single dashes, starting with a letter and ending with a letter or digit (max 31)`,
      );
    }
  });

  test("a single zone is rejected", () => {
    expect(problemsOf(variant((c) => (c.zones = 1)))).toEqual([
      "catalog.zones: must be at least 2",
    ]);
  });

  test("a domain without services is rejected", () => {
    const problems = problemsOf(
      variant((c) => (c.domains["spare"] = { gateway: { replicas: 2, fallback: "degraded" } })),
    );
    expect(problems).toEqual([
      "catalog.domains.spare: has no service; a gateway tier would serve nothing",
    ]);
  });

  test("calls must name a service of the caller's own domain that runs v1", () => {
    expect(
      problemsOf(variant((c) => (c.services["chat"]!.calls = ["model", "auth", "nope", "chat"]))),
    ).toEqual([
      "catalog.services.chat.calls.1: auth is in domain identity, not business; reach another domain through its gateway tier",
      'catalog.services.chat.calls.2: unknown service "nope"',
      "catalog.services.chat.calls.3: a service does not call itself",
      "catalog.services.inference.routes: an internal service (no route) needs a caller in its domain's calls",
    ]);
    expect(
      problemsOf(variant((c) => (c.services["model"]!.versions = [{ name: "v2", weight: 100 }]))),
    ).toEqual([
      "catalog.services.chat.calls.0: model runs no v1, the version its callers reach",
      "catalog.services.training.calls.1: model runs no v1, the version its callers reach",
    ]);
  });

  test("a domain whose services all lack a route is rejected", () => {
    const problems = problemsOf(
      variant((c) => {
        c.domains["spare"] = { gateway: { replicas: 2, fallback: "degraded" } };
        c.services["worker"] = { domain: "spare", routes: [] };
        c.services["front"] = { domain: "spare", routes: [], calls: ["worker"] };
      }),
    );
    expect(problems).toEqual([
      "catalog.services.front.routes: an internal service (no route) needs a caller in its domain's calls",
      "catalog.domains.spare: has no service with a route; a gateway tier would serve nothing",
    ]);
  });

  test("every problem is reported at once", () => {
    const problems = problemsOf(
      variant((c) => {
        c.services["orders"]!.replicas = 0;
        c.zones = 9;
      }),
    );
    expect(problems).toHaveLength(2);
  });

  test("tierCalls name a service of another domain that its tier serves (quota), running v1", () => {
    const withQuota = (c: CatalogInput) =>
      (c.services["quota"] ??= { domain: "identity", routes: ["/v1/quota"] });
    expect(
      problemsOf(
        variant((c) => {
          withQuota(c);
          c.services["chat"]!.tierCalls = ["quota", "model", "auth", "nope"];
        }),
      ),
    ).toEqual([
      "catalog.services.chat.tierCalls.1: model is in the same domain; list it under calls",
      "catalog.services.chat.tierCalls.2: a gateway tier serves only the service of role quota to other domains",
      'catalog.services.chat.tierCalls.3: unknown service "nope"',
    ]);
  });

  test("a route that turns the quota step on needs a quota service", () => {
    const problems = problemsOf(
      variant((c) => {
        delete c.services["quota"];
        c.services["chat"]!.tierCalls = [];
        c.services["orders"]!.traffic = { ...c.services["orders"]!.traffic, quota: true };
      }),
    );
    expect(problems).toContain(
      'catalog.services.orders.traffic.quota: the quota step needs a service of role "quota" in the catalog',
    );
  });

  test("roles are declared, one service each, and one verifies API keys", () => {
    expect(
      problemsOf(
        variant((c) => {
          c.services["orders"]!.role = "monitoring";
          delete c.services["auth"]!.role;
        }),
      ),
    ).toEqual([
      `catalog.services.monitoring.role: "monitoring" is orders's already; one service per role`,
      'catalog.services: one service needs role "api-keys", to verify API keys',
    ]);
    // A role goes with the service that declares it, whatever its name.
    const renamed = validateCatalog(
      variant((c) => {
        c.services["keys"] = c.services["auth"]!;
        delete c.services["auth"];
      }),
    );
    expect(keyService(renamed).name).toBe("keys");
    expect(serviceWithRole(renamed, "quota")?.name).toBe("quota");
  });
});

describe("routing rules", () => {
  const rules = routingRules(catalog);

  test("every service route maps to its domain", () => {
    expect(rules).toEqual([
      { prefix: "/v1/auth", domain: "identity", service: "auth" },
      { prefix: "/v1/users", domain: "identity", service: "user" },
      { prefix: "/v1/quota", domain: "identity", service: "quota" },
      { prefix: "/v1/billing", domain: "identity", service: "billing" },
      { prefix: "/v1/orders", domain: "business", service: "orders" },
      { prefix: "/v1/chat", domain: "business", service: "chat" },
      { prefix: "/v1/models", domain: "business", service: "chat" },
      { prefix: "/v1/articles", domain: "business", service: "articles" },
      { prefix: "/v1/monitoring", domain: "business", service: "monitoring" },
      { prefix: "/v1/mcp", domain: "business", service: "mcp" },
      { prefix: "/v1/workflows", domain: "business", service: "workflows" },
      { prefix: "/v1/workflow-runs", domain: "business", service: "workflows" },
      { prefix: "/v1/schedules", domain: "business", service: "workflows" },
      { prefix: "/v1/analytics", domain: "business", service: "analytics" },
      { prefix: "/v1/files", domain: "business", service: "storage" },
      { prefix: "/v1/videos", domain: "business", service: "video" },
      { prefix: "/v1/training", domain: "business", service: "training" },
    ]);
  });

  test("internal services (model, inference) get no rule: only chat reaches them", () => {
    expect(rules.map((r) => r.service)).not.toContain("model");
    expect(catalog.services["chat"]?.calls).toEqual(["model", "inference"]);
    expect(catalog.services["inference"]?.routes).toEqual([]);
  });

  test("a prefix matches itself and the paths below it, not a longer segment", () => {
    expect(matchRoute(rules, "/v1/orders")?.service).toBe("orders");
    expect(matchRoute(rules, "/v1/orders/ord_1")?.service).toBe("orders");
    expect(matchRoute(rules, "/v1/ordersx")).toBeUndefined();
    expect(matchRoute(rules, "/v1/auth/whoami")?.domain).toBe("identity");
    expect(matchRoute(rules, "/v1")).toBeUndefined();
    expect(matchRoute(rules, "/v1/")).toBeUndefined();
    expect(matchRoute(rules, "/v2/orders")).toBeUndefined();
    expect(matchRoute(rules, "/orders")).toBeUndefined();
  });

  test("1 000 routes: each path finds its own owner, and no other", () => {
    const many = Array.from({ length: 1_000 }, (_, i) => ({
      prefix: `/v1/r${i}`,
      domain: "d",
      service: `s${i}`,
    }));
    for (const i of [0, 1, 10, 99, 100, 999]) {
      expect(matchRoute(many, `/v1/r${i}`)?.service).toBe(`s${i}`);
      expect(matchRoute(many, `/v1/r${i}/x/y`)?.service).toBe(`s${i}`);
    }
    expect(matchRoute(many, "/v1/r1000")).toBeUndefined();
    expect(matchRoute(many, "/v1/r1x")).toBeUndefined();
  });

  test("a rule that is not one segment under /v1 is refused, not mismatched", () => {
    expect(() =>
      matchRoute([{ prefix: "/v1/a/b", domain: "d", service: "s" }], "/v1/a/b/c"),
    ).toThrow("route prefix /v1/a/b is not /v1/<segment>");
  });
});
