import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { nodeHttpProbe, probeTiming } from "../nodeHttpProbe.ts";

export interface ContainerGroupArgs {
  /** Image whose entrypoint is `node` (this project's Dockerfile): `command` holds node's arguments. */
  image: pulumi.Input<string>;
  /** Arguments to the image's entrypoint, e.g. `["services/orders/main.ts"]`. */
  command: pulumi.Input<string>[];
  /** How many identical containers to run. */
  replicas: number;
  /** Names of the Docker networks the replicas join, under the group's alias on each. */
  networks: pulumi.Input<string>[];
  /** Environment of every replica, in plain text (it shows in `pulumi preview` and `docker inspect`). */
  env: Record<string, string>;
  /**
   * Secret environment, written to a file only `user` can read and loaded by `node --env-file`:
   * it stays out of `docker inspect`, and one secret does not hide the whole environment from
   * `pulumi preview` as a secret entry in `env` would. Values must be single-line and hold no `'`.
   */
  secretEnv?: Record<string, pulumi.Input<string>>;
  /** The uid:gid the programs run as; it owns the secret env file. Default the image's `10001:10001`. */
  user?: string;
  /** Port the program listens on inside the container. */
  port: number;
  /**
   * Host port the first replica publishes; replica i publishes `hostPort + i`, since two
   * containers cannot bind one host port. Default: nothing is published.
   */
  hostPort?: number;
  /** Path that answers 2xx once the program can serve (its dependencies reachable). Default `/readyz`. */
  healthPath?: string;
  /** Memory limit of each replica in MiB. Default: no limit. */
  memoryMb?: number;
  /**
   * Named volumes every replica mounts, shared by all of them (e.g. the files a service keeps on
   * disk, which any replica must be able to read back). Default: none.
   */
  sharedVolumes?: { volumeName: pulumi.Input<string>; containerPath: string }[];
}

/** Where the secret environment is written in each container (see `secretEnv`). */
const secretEnvFile = "/run/platform-secrets.env";

/** The resource name of each of `replicas` containers of group `name`: `name-1`, `name-2`, ... */
export function replicaNames(name: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${name}-${i + 1}`);
}

/**
 * N replicas of one program on a Docker network, all under one network alias, the group's name.
 * Docker's DNS answers that name with one address per running replica, so a caller that looks it
 * up holds the full list and fails over between replicas, as with a Kubernetes headless Service
 * or AWS Cloud Map; and a change of the replica count changes nothing in any caller.
 */
export class ContainerGroup extends pulumi.ComponentResource {
  /** The group's network alias: one DNS name with a record per replica. */
  readonly alias: string;
  /** `http://<alias>:<port>`: every replica, through Docker's DNS. */
  readonly url: string;
  /** Base URL of each replica from the host, when the group publishes ports. */
  readonly hostUrls: string[];
  readonly containerIds: pulumi.Output<string[]>;

  constructor(name: string, args: ContainerGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:docker:ContainerGroup", name, {}, opts);

    if (!Number.isInteger(args.replicas) || args.replicas < 1) {
      throw new Error(
        `${name}: replicas must be a whole number of at least 1 (got ${args.replicas})`,
      );
    }
    if (args.networks.length === 0) throw new Error(`${name}: needs at least one network`);
    const healthPath = args.healthPath ?? "/readyz";
    this.alias = name;
    this.url = `http://${name}:${args.port}`;
    const names = replicaNames(name, args.replicas);
    const hostPorts = names.map((_, i) =>
      args.hostPort === undefined ? undefined : args.hostPort + i,
    );
    this.hostUrls = hostPorts.flatMap((p) => (p === undefined ? [] : [`http://localhost:${p}`]));
    const envs = Object.entries(args.env).map(([key, value]) => `${key}=${value}`);
    const user = args.user ?? "10001:10001";
    const [uid, gid] = user.split(":");
    const secretEntries = Object.entries(args.secretEnv ?? {});
    const uploads =
      secretEntries.length === 0
        ? []
        : [
            {
              file: secretEnvFile,
              content: pulumi.secret(
                pulumi
                  .all(secretEntries.map(([key, value]) => pulumi.interpolate`${key}='${value}'\n`))
                  .apply((lines) => lines.join("")),
              ),
              owner: uid,
              group: gid ?? uid,
              permissions: "0400",
            },
          ];
    const command =
      secretEntries.length === 0 ? args.command : [`--env-file=${secretEnvFile}`, ...args.command];

    // Docker's provider replaces a container by deleting it first (its schema says so for every
    // container). Each replica waits for the one before it, so that an update replaces them one
    // at a time, each healthy (`wait`) before the next goes, and the group keeps serving through
    // it. A first create is as serial: each replica waits for Docker's first health check.
    const containers: docker.Container[] = [];
    for (const [i, replica] of names.entries()) {
      containers.push(
        new docker.Container(
          replica,
          {
            image: args.image,
            command,
            envs,
            uploads,
            user,
            networksAdvanced: args.networks.map((network) => ({
              name: network,
              aliases: [this.alias],
            })),
            volumes: args.sharedVolumes ?? [],
            ports:
              hostPorts[i] === undefined ? [] : [{ internal: args.port, external: hostPorts[i] }],
            healthcheck: {
              tests: nodeHttpProbe(args.port, healthPath),
              interval: `${probeTiming.intervalSeconds}s`,
              timeout: `${probeTiming.timeoutSeconds}s`,
              startPeriod: `${probeTiming.startPeriodSeconds}s`,
              retries: probeTiming.retries,
            },
            restart: "unless-stopped",
            // An init as PID 1 forwards SIGTERM to Node (which then drains) and reaps zombies.
            init: true,
            // Unset, the provider's delete sends SIGTERM and kills at once: a replaced replica
            // would drop what it was answering. Node's drain takes DRAIN_DELAY_MS (2 s) and at
            // most 10 s more for requests in flight (services/shared/http.ts `serve`).
            destroyGraceSeconds: 15,
            memory: args.memoryMb,
            // No swap above the limit. Unset, the engine makes it twice the memory and the
            // provider reads that back as a change on every preview.
            memorySwap: args.memoryMb,
            // Node needs no Linux capability to listen above port 1024.
            capabilities: { drops: ["ALL"] },
            securityOpts: ["no-new-privileges:true"],
            logOpts: { "max-size": "10m", "max-file": "3" },
            // `pulumi up` returns once every replica is healthy, or fails naming the one that is not.
            wait: true,
            waitTimeout: 120,
          },
          // Children do not inherit the component's dependsOn: the first replica takes it, so
          // that a group starts after what it needs (its data stores, the services behind a
          // gateway), and each later one waits for the one before.
          { parent: this, dependsOn: i === 0 ? opts?.dependsOn : containers[i - 1] },
        ),
      );
    }

    this.containerIds = pulumi.all(containers.map((c) => c.id));
    this.registerOutputs({
      alias: this.alias,
      url: this.url,
      hostUrls: this.hostUrls,
      containerIds: this.containerIds,
    });
  }
}
