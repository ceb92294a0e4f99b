import * as pulumi from "@pulumi/pulumi";
import { DataStores, storeEndpoints } from "./dataStores.ts";
import { recordComponents } from "../../test/plan/harness.ts";
import { secretMark } from "../../test/plan/records.ts";

// One domain's stores as containers, under Pulumi's mocks.

it("runs only the stores on some network, under their aliases, and keeps the password secret", async () => {
  let stores: DataStores | undefined;
  const records = await recordComponents(() => {
    stores = new DataStores("shop", {
      networks: { postgres: ["orders~stores", "gateway~stores"], redis: [] },
      postgresPassword: pulumi.secret("do-not-print"),
    });
  }, "docker");
  const containers = records.byType("docker:index/container:Container");
  expect(containers.map((c) => c.name)).toEqual(["shop-postgres"]);
  const postgres = containers[0]!.inputs as {
    networksAdvanced: { name: string; aliases: string[] }[];
    envs: unknown;
    volumes: { containerPath: string }[];
  };
  expect(postgres.networksAdvanced).toEqual([
    { name: "orders~stores", aliases: ["shop-postgres"] },
    { name: "gateway~stores", aliases: ["shop-postgres"] },
  ]);
  expect(postgres.envs).toBe(secretMark);
  expect(postgres.volumes.map((v) => v.containerPath)).toEqual(["/var/lib/postgresql/data"]);
  expect(JSON.stringify(records.all)).not.toContain("do-not-print");
  expect(stores!.databaseUrl).toBe(storeEndpoints("shop").databaseUrl);
  expect(stores!.databaseUrl).toBe("postgres://platform@shop-postgres:5432/shop");
});

it("starts PostgreSQL with the connections it is given, and gives Kafka's JVM check time", async () => {
  const records = await recordComponents(() => {
    new DataStores("shop", {
      networks: { postgres: ["orders~stores"], kafka: ["orders~stores"] },
      postgresPassword: pulumi.secret("do-not-print"),
      postgresMaxConnections: 500,
    });
  }, "docker");
  const inputs = (name: string) =>
    records.one("docker:index/container:Container", name).inputs as {
      command?: string[];
      healthcheck: { timeout: string };
    };
  expect(inputs("shop-postgres").command).toEqual(["postgres", "-c", "max_connections=500"]);
  expect(inputs("shop-kafka").healthcheck.timeout).toBe("30s");
});
