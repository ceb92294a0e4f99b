import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contextDigest } from "../../components/aws/serviceImage.ts";
import { copyProject } from "../../test/pulumi/cli.ts";
import { defaultCatalog } from "./default.ts";
import { catalog } from "./index.ts";
import {
  CATALOG_ENV,
  gatewayCatalogJson,
  loadRuntimeCatalog,
  routerCatalogJson,
  runtimeCatalogJson,
  serviceCatalogJson,
} from "./runtime.ts";
import type { CatalogInput } from "./schema.ts";
import { validateCatalog } from "./validate.ts";

const edited = (edit: (c: CatalogInput) => void) => {
  const copy = structuredClone(defaultCatalog);
  edit(copy);
  return validateCatalog(copy);
};

describe("the catalog's runtime view", () => {
  it("does not change when only a group's size or upgrade policy does, so no process restarts for it", () => {
    const sized = edited((c) => {
      c.zones = 3;
      c.router = { replicas: 4, cpu: 512, memory: 1024 };
      c.services["orders"]!.replicas = 3;
      c.services["chat"]!.memory = 1024;
      c.domains["business"]!.gateway.replicas = 5;
      c.domains["identity"]!.data = { postgres: { instanceClass: "db.t4g.large" } };
      // Read by the Upgrade Manager alone; and a build from another commit may not know a field.
      c.services["orders"]!.upgrade = { holdSeconds: 5, minRequests: 3 };
    });
    expect(runtimeCatalogJson(sized)).toBe(runtimeCatalogJson(catalog));
  });

  it("changes with what a process does read", () => {
    const rerouted = edited((c) => c.services["orders"]!.routes!.push("/v1/carts"));
    const throttled = edited((c) => {
      c.services["orders"]!.traffic = { rateLimit: { perKey: { limit: 5, windowSeconds: 60 } } };
    });
    for (const other of [rerouted, throttled])
      expect(runtimeCatalogJson(other)).not.toBe(runtimeCatalogJson(catalog));
  });

  it("changes, when a version is added or reweighted, for the processes that route it alone", () => {
    // The upgrade's first step: orders v2 deployed at weight 0, then written back at 100%.
    const added = edited((c) => {
      c.services["orders"]!.versions = [
        { name: "v1", weight: 100 },
        { name: "v2", weight: 0, env: { FEATURE: "on" } },
      ];
    });
    const moved = edited((c) => {
      c.services["orders"]!.versions = [
        { name: "v1", weight: 0 },
        { name: "v2", weight: 100 },
      ];
    });
    const bridge = Object.entries(catalog.services).find(([, s]) => s.role === "api-bridge")![0];
    const unmoved = [
      routerCatalogJson,
      (c: typeof catalog) => gatewayCatalogJson(c, "identity"),
      ...Object.keys(catalog.services)
        .filter((name) => name !== bridge)
        .map((name) => (c: typeof catalog) => serviceCatalogJson(c, name)),
    ];
    const moving = [
      (c: typeof catalog) => gatewayCatalogJson(c, catalog.services["orders"]!.domain),
      (c: typeof catalog) => serviceCatalogJson(c, bridge),
    ];
    for (const other of [added, moved]) {
      for (const view of unmoved) expect(view(other)).toBe(view(catalog));
      for (const view of moving) expect(view(other)).not.toBe(view(catalog));
    }
    // What they do read (routes, a body limit) still changes every view.
    const rerouted = edited((c) => c.services["orders"]!.routes!.push("/v1/carts"));
    for (const view of [...unmoved, ...moving]) expect(view(rerouted)).not.toBe(view(catalog));
  });

  it("keeps the versions of the services a gateway routes, for the gateway", async () => {
    const business = catalog.services["orders"]!.domain;
    const view = await loadRuntimeCatalog({
      [CATALOG_ENV]: gatewayCatalogJson(
        edited((c) => {
          c.services["orders"]!.versions = [
            { name: "v1", weight: 90 },
            { name: "v2", weight: 10 },
          ];
        }),
        business,
      ),
    });
    expect(view.services["orders"]!.versions.map((v) => [v.name, v.weight])).toEqual([
      ["v1", 90],
      ["v2", 10],
    ]);
  });

  it("loads back to the same routes, versions, traffic and calls", async () => {
    const loaded = await loadRuntimeCatalog({ [CATALOG_ENV]: runtimeCatalogJson(catalog) });
    for (const [name, spec] of Object.entries(catalog.services)) {
      const { routes, versions, traffic, calls, tierCalls, uses, domain } = spec;
      expect(loaded.services[name]).toMatchObject({
        routes,
        versions,
        traffic,
        calls,
        tierCalls,
        uses,
        domain,
      });
    }
    expect(loaded.domains["identity"]!.gateway.resilience).toEqual(
      catalog.domains["identity"]!.gateway.resilience,
    );
  });

  it("is the source tree's default where no target set it (npm start, tests)", async () => {
    expect(await loadRuntimeCatalog({})).toEqual(catalog);
  });

  it("names the variable and the field when what it carries is wrong", async () => {
    await expect(loadRuntimeCatalog({ [CATALOG_ENV]: "{not json" })).rejects.toThrow(
      `${CATALOG_ENV}: not valid JSON`,
    );
    const bad = JSON.parse(runtimeCatalogJson(catalog));
    bad.services.orders.routes = ["orders"];
    await expect(loadRuntimeCatalog({ [CATALOG_ENV]: JSON.stringify(bad) })).rejects.toThrow(
      "catalog.services.orders.routes.0",
    );
  });
});

describe("the services image", () => {
  let dir: string;
  beforeAll(() => (dir = copyProject()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, from: RegExp, to: string) => {
    const path = join(dir, file);
    const before = readFileSync(path, "utf8");
    const after = before.replace(from, to);
    expect(after).not.toBe(before);
    writeFileSync(path, after);
  };

  it("keeps its content (and tag) through a catalog edit, and not through a code edit", () => {
    const first = contextDigest(dir);
    edit("platform/catalog/default.ts", /replicas: 2,/, "replicas: 3,");
    expect(contextDigest(dir)).toBe(first);
    edit("services/orders/app.ts", /$/, "\n// an edit\n");
    expect(contextDigest(dir)).not.toBe(first);
  });
});
