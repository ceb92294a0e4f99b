import { DataStores, storeEndpoints, storeLabels } from "./dataStores.ts";
import { recordComponents } from "../../test/plan/harness.ts";
import type { Records } from "../../test/plan/records.ts";

// One domain's in-cluster stores under Pulumi's mocks.

const orders = { namespace: "shop", labels: { "app.kubernetes.io/name": "orders" } };
let records: Records;
let endpoints: DataStores["endpoints"];
beforeAll(async () => {
  records = await recordComponents(() => {
    endpoints = new DataStores("shop", {
      namespace: "shop",
      stores: ["postgres", "kafka"],
      postgresPassword: { secretName: "stores", key: "PGPASSWORD" },
      clients: { postgres: [orders] },
      volumeGb: 3,
    }).endpoints;
  }, "k8s");
});

type Policy = { spec: { podSelector: unknown; ingress: { from: unknown[]; ports: unknown[] }[] } };

describe("DataStores (Kubernetes)", () => {
  it("runs only the stores asked for, each a StatefulSet, its headless Service and its policy", () => {
    const component = records.one("platform:kubernetes:DataStores", "shop");
    expect(
      records
        .childrenOf(component)
        .map((r) => `${r.type.split(":")[2]} ${r.name}`)
        .sort(),
    ).toEqual(
      [
        "NetworkPolicy shop-kafka",
        "NetworkPolicy shop-postgres",
        "Service shop-kafka",
        "Service shop-postgres",
        "StatefulSet shop-kafka",
        "StatefulSet shop-postgres",
      ].sort(),
    );
  });

  it("publishes the endpoints the plan computes, with no password in them", () => {
    expect(endpoints).toEqual(storeEndpoints("shop", "shop", ["postgres", "kafka"]));
    expect(endpoints.databaseUrl).toBe(
      "postgres://platform@shop-postgres-0.shop-postgres.shop.svc.cluster.local:5432/shop",
    );
    expect(endpoints.redisUrl).toBeUndefined();
  });

  it("admits only a store's clients, and no one to a store without clients", () => {
    const postgres = records.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-postgres")
      .inputs as unknown as Policy;
    expect(postgres.spec.podSelector).toEqual({ matchLabels: storeLabels("shop", "postgres") });
    expect(postgres.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
            podSelector: { matchLabels: orders.labels },
          },
        ],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ]);
    const kafka = records.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-kafka")
      .inputs as unknown as Policy;
    expect(kafka.spec.ingress).toEqual([]);
  });

  it("takes PostgreSQL's password from the Secret and sizes the volume as asked", () => {
    const set = records.one("kubernetes:apps/v1:StatefulSet", "shop-postgres").inputs as {
      spec: {
        template: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } };
        volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
      };
    };
    const env = set.spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === "POSTGRES_PASSWORD")).toEqual({
      name: "POSTGRES_PASSWORD",
      valueFrom: { secretKeyRef: { name: "stores", key: "PGPASSWORD" } },
    });
    expect(set.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe("3Gi");
  });
});
