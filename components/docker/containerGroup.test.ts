import * as pulumi from "@pulumi/pulumi";
import type { ContainerGroupArgs } from "./containerGroup.ts";
import { ContainerGroup, replicaNames } from "./containerGroup.ts";
import { recordComponents } from "../../test/plan/harness.ts";
import type { Records } from "../../test/plan/records.ts";
import { secretMark } from "../../test/plan/records.ts";

// One group of replicas under Pulumi's mocks.

const base: ContainerGroupArgs = {
  image: "platform/services:local",
  command: ["services/orders/main.ts"],
  replicas: 3,
  networks: ["orders~gateway-business", "orders~stores"],
  env: { SERVICE_NAME: "orders" },
  secretEnv: { PGPASSWORD: pulumi.secret("do-not-print") },
  port: 8080,
};
interface Container {
  command: string[];
  envs: string[];
  uploads: unknown;
  networksAdvanced: { name: string; aliases: string[] }[];
  ports: { internal: number; external: number }[];
  capabilities: { drops: string[] };
  destroyGraceSeconds: number;
}
const containers = (records: Records) =>
  records
    .byType("docker:index/container:Container")
    .map((r) => [r.name, r.inputs as unknown as Container] as const);

describe("ContainerGroup", () => {
  let records: Records;
  beforeAll(async () => {
    records = await recordComponents(
      () => new ContainerGroup("orders", { ...base, hostPort: 8000 }),
      "docker",
    );
  });

  it("runs each replica under the group's alias on every one of its networks", () => {
    const all = containers(records);
    expect(all.map(([name]) => name)).toEqual(replicaNames("orders", 3));
    for (const [, c] of all)
      expect(c.networksAdvanced).toEqual(
        base.networks.map((name) => ({ name, aliases: ["orders"] })),
      );
    const component = records.one("platform:docker:ContainerGroup", "orders");
    expect(records.childrenOf(component)).toHaveLength(3);
  });

  it("hands secrets over in a file only the program's user reads, not in the env", () => {
    for (const [, c] of containers(records)) {
      expect(c.envs).toEqual(["SERVICE_NAME=orders"]);
      expect(c.command).toEqual(["--env-file=/run/platform-secrets.env", ...base.command]);
      // The whole upload is a secret in the state, its content with it.
      expect(c.uploads).toBe(secretMark);
      expect(c.capabilities.drops).toEqual(["ALL"]);
    }
    expect(JSON.stringify(records.all)).not.toContain("do-not-print");
  });

  it("lets a replica drain when the engine deletes it, instead of killing it at once", () => {
    // Above Node's drain (2 s, then at most 10 s for requests in flight).
    for (const [, c] of containers(records)) expect(c.destroyGraceSeconds).toBeGreaterThan(12);
  });

  it("publishes one host port per replica from hostPort", () => {
    expect(containers(records).map(([, c]) => c.ports)).toEqual([
      [{ internal: 8080, external: 8000 }],
      [{ internal: 8080, external: 8001 }],
      [{ internal: 8080, external: 8002 }],
    ]);
  });

  it("refuses no replicas and no network, naming the group", () => {
    expect(() => new ContainerGroup("bad", { ...base, replicas: 1.5 })).toThrow(
      /bad: replicas must be a whole number of at least 1/,
    );
    expect(() => new ContainerGroup("lone", { ...base, networks: [] })).toThrow(
      /lone: needs at least one network/,
    );
  });
});
