import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { catalog, domains, services } from "../../platform/catalog/index.ts";
import type { Addresses, Env } from "../../platform/runtimeEnv.ts";
import { probeTiming } from "../../components/nodeHttpProbe.ts";
import {
  IMAGE_DATA_DIR,
  entrypoint,
  envKey,
  gatewayEnv,
  routerEnv,
  scrapeTargets,
  serviceEnv,
  versionedName,
} from "../../platform/runtimeEnv.ts";
import { createDatabase, TEST_SERVER_ENV } from "../servers/index.ts";
import { SMOLLM2 } from "../../services/inference/llm/modelFile.ts";
import { docker, enginePlan, script } from "./engine.ts";

// The service image built with a real Docker engine and the default topology run from it: the
// router, both gateway tiers and every service, each replica a container on the host network
// with a loopback port of its own, on the real PostgreSQL, Redis and Kafka of the test run. The
// containers run as Kubernetes will run them (read-only root filesystem, every capability
// dropped, no privilege escalation), so a write outside DATA_DIR and /tmp fails here first.

const plan = enginePlan();
if (plan.mode === "skip")
  process.stderr.write(`test/docker/images.test.ts skipped: ${plan.reason}\n`);
const withEngine = plan.mode === "skip" ? describe.skip : describe;

const runId = randomBytes(4).toString("hex");
const image = `platform/services:test-${runId}`;
/** The base scripts/docker/build.sh builds and uses when NODE_IMAGE is not set. */
const base = process.env["NODE_IMAGE"] || "local/node:24";
const label = `platform.test.run=${runId}`;
const apiKey = `sk-image-test-${randomBytes(12).toString("hex")}`;
/** The code and runtime dependencies may add this much to the base image, no more. */
const maxAddedBytes = 65e6;
/** node-llama-cpp with its one CPU build of llama.cpp (about 70 MB in 3.21). */
const maxLlamaBytes = 90e6;

interface Container {
  /** `router-1`, `gateway-identity-2`, `orders-1`... */
  name: string;
  program: string;
  port: number;
  env: Env;
}

/** `n` distinct free loopback ports: every listener stays open until all are chosen. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once("error", fail);
        server.listen(0, "127.0.0.1", ok);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  }
}

const url = (port: number) => `http://127.0.0.1:${port}`;

/** The default topology as host-network containers, with the env every other target builds. */
async function topology(databaseUrl: string): Promise<Container[]> {
  const redisUrl = requireEnv(TEST_SERVER_ENV.redis);
  const kafkaBrokers = requireEnv(TEST_SERVER_ENV.kafka);
  const allServices = services(catalog);
  const allDomains = domains(catalog);
  const total =
    allServices.reduce((n, s) => n + s.replicas * s.versions.length, 0) +
    allDomains.reduce((n, d) => n + d.gateway.replicas, 0) +
    2 * catalog.router.replicas;
  const ports = await freePorts(total);
  const take = (n: number) => ports.splice(0, n);

  // One group of replicas per service version, keyed as the env contract keys them.
  const versions = allServices.flatMap((s) =>
    s.versions.map((v) => ({ service: s, version: v.name, key: versionedName(s.name, v.name) })),
  );
  const servicePorts = new Map(versions.map((v) => [v.key, take(v.service.replicas)]));
  const tierPorts = new Map(allDomains.map((d) => [d.name, take(d.gateway.replicas)]));
  const routerPorts = take(catalog.router.replicas);
  // On the host network each router replica needs an ops port of its own.
  const routerOpsPorts = take(catalog.router.replicas);
  const at: Addresses = {
    services: Object.fromEntries([...servicePorts].map(([s, p]) => [s, p.map(url)])),
    tiers: Object.fromEntries([...tierPorts].map(([d, p]) => [d, p.map(url)])),
  };
  // Monitoring scrapes every replica; the routers' /metrics are on their ops ports.
  const each = (group: string, ports: number[]) => ({
    replicas: ports.map((port, i) => ({ id: `${group}-${i + 1}`, url: url(port) })),
  });
  at.replicas = scrapeTargets(catalog, {
    router: () => each("router", routerOpsPorts),
    tier: (domain) => each(`${domain}-gateway`, tierPorts.get(domain)!),
    service: (service, version) => {
      const key = versionedName(service, version);
      return each(key, servicePorts.get(key)!);
    },
  });
  // In a container the programs listen on every interface; on the host network that would
  // expose them beyond this machine, so they keep to loopback as the local runner does.
  const host: Env = { [envKey.host]: "127.0.0.1" };
  const data = { databaseUrl, redisUrl, kafkaBrokers };
  // What the gateways sign and the services check, one per run as a stack has one.
  const signing: Env = { [envKey.principalSecret]: randomBytes(32).toString("base64url") };

  const containers: Container[] = [];
  for (const { service: s, version, key } of versions) {
    servicePorts.get(key)!.forEach((port, i) => {
      const env = { ...host, ...signing, ...serviceEnv(catalog, s.name, port, data, version, at) };
      if (s.name === "auth") env[envKey.demoApiKey] = apiKey;
      containers.push({ name: `${s.name}-${version}-${i + 1}`, program: s.name, port, env });
    });
  }
  for (const d of allDomains) {
    tierPorts.get(d.name)!.forEach((port, i) => {
      const env = {
        ...host,
        ...signing,
        ...gatewayEnv(catalog, d.name, at, port, "docker", { redisUrl, kafkaBrokers }),
      };
      containers.push({ name: `gateway-${d.name}-${i + 1}`, program: "gateway", port, env });
    });
  }
  routerPorts.forEach((port, i) => {
    const env = { ...host, ...routerEnv(catalog, at, port, routerOpsPorts[i]) };
    containers.push({ name: `router-${i + 1}`, program: "router", port, env });
  });
  return containers;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run under jest (test/servers/globalSetup.ts)`);
  return value;
}

const containerName = (c: Container) => `platform-test-${runId}-${c.name}`;

function start(c: Container): Promise<string> {
  return docker(
    "run",
    "--detach",
    "--name",
    containerName(c),
    "--label",
    label,
    "--network",
    "host",
    "--init",
    // As on ECS and Kubernetes: a read-only root, writable only where the image declares its
    // volumes (fresh anonymous volumes here, that start as the image's directories).
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    // The image's own HEALTHCHECK, timing included: forty probes every 2 s (each a new Node
    // process) were enough to starve two cores and time every probe out.
    ...Object.entries(c.env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    image,
    entrypoint(c.program),
  );
}

async function state(c: Container): Promise<{ Running: boolean; Health?: { Status: string } }> {
  return JSON.parse(await docker("inspect", "--format", "{{json .State}}", containerName(c)));
}

async function logsOf(c: Container): Promise<string> {
  try {
    return await docker("logs", "--tail", "20", containerName(c));
  } catch (err) {
    return String(err);
  }
}

/** Polls `check` until it holds for every container; a container that stopped fails at once. */
async function waitAll(
  containers: Container[],
  what: string,
  check: (c: Container) => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = containers;
  while (pending.length > 0) {
    const results = await Promise.all(
      pending.map(async (c) => ({ c, ok: await check(c).catch(() => false) })),
    );
    pending = results.filter((r) => !r.ok).map((r) => r.c);
    for (const c of pending) {
      if (!(await state(c)).Running)
        throw new Error(`${c.name} stopped before ${what}:\n${await logsOf(c)}`);
    }
    if (pending.length > 0 && Date.now() > deadline) {
      const logs = await Promise.all(pending.map(async (c) => `${c.name}:\n${await logsOf(c)}`));
      throw new Error(`not ${what} after ${timeoutMs / 1000} s:\n${logs.join("\n")}`);
    }
    if (pending.length > 0) await new Promise((ok) => setTimeout(ok, 500));
  }
}

let containers: Container[] = [];
const routers = () => containers.filter((c) => c.program === "router");

withEngine("the service image, built and run on a real Docker engine", () => {
  beforeAll(async () => {
    if (plan.mode === "start") process.stdout.write(await script("dockerd.sh"));
    process.stdout.write(await script("build.sh", [image]));
    containers = await topology(await createDatabase("images"));
    await Promise.all(containers.map(start));
    await waitAll(
      containers,
      "ready",
      async (c) => (await fetch(`${url(c.port)}/readyz`)).status === 200,
      240_000,
    );
  }, 600_000);

  afterAll(async () => {
    const ids = await docker("ps", "--all", "--quiet", "--filter", `label=${label}`);
    if (ids) await docker("rm", "--force", "--volumes", ...ids.split("\n"));
    // --no-prune keeps the untagged layers below the tag: they are the next run's build cache.
    await docker("rmi", "--no-prune", image).catch(() => undefined);
    expect(await docker("ps", "--all", "--quiet", "--filter", `label=${label}`)).toBe("");
  }, 120_000);

  it("runs the router, every gateway replica and every service replica", () => {
    const count = (program: string) => containers.filter((c) => c.program === program).length;
    for (const s of services(catalog))
      expect([s.name, count(s.name)]).toEqual([s.name, s.replicas * s.versions.length]);
    expect(count("gateway")).toBe(domains(catalog).reduce((n, d) => n + d.gateway.replicas, 0));
    expect(count("router")).toBe(catalog.router.replicas);
  });

  it("carries the services' dependencies and nothing of the Pulumi program", async () => {
    const listing = JSON.parse(
      await docker(
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "-e",
        `const fs = require("node:fs");
         const deps = Object.keys(JSON.parse(fs.readFileSync("package.json", "utf8")).dependencies);
         const has = (d) => fs.existsSync("node_modules/" + d + "/package.json");
         console.log(JSON.stringify({ present: deps.filter(has), absent: deps.filter((d) => !has(d)) }));`,
      ),
    ) as { present: string[]; absent: string[] };
    expect(listing.absent.length).toBeGreaterThan(0);
    expect(listing.absent.every((d) => d.startsWith("@pulumi/"))).toBe(true);
    expect(listing.present.some((d) => d.startsWith("@pulumi/"))).toBe(false);
  });

  it("carries no catalog of its own: a program started without PLATFORM_CATALOG says so", async () => {
    const result = await docker(
      "run",
      "--rm",
      "--network",
      "none",
      image,
      // The router reads the catalog before anything else of its environment.
      entrypoint("router"),
    ).then(
      () => "exited 0",
      (err: Error) => err.message,
    );
    expect(result).toContain(
      `${envKey.catalog} is not set, and this build carries no default catalog`,
    );
  });

  it("stays small: besides the language model and llama.cpp, its own files add at most 65 MB", async () => {
    const size = async (ref: string) =>
      Number(await docker("image", "inspect", "--format", "{{.Size}}", ref));
    const [own, under] = await Promise.all([size(image), size(base)]);
    // Apparent sizes of what the image adds, measured inside it: the model file and the
    // llama.cpp build are weighed on their own, so that neither hides growth in the rest.
    const llama = "/app/node_modules/node-llama-cpp /app/node_modules/@node-llama-cpp";
    const measured = await docker(
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "sh",
      image,
      "-c",
      `echo app $(du -sb --exclude=node-llama-cpp --exclude=@node-llama-cpp /app | cut -f1); ` +
        `echo llama $(du -sbc ${llama} | tail -1 | cut -f1); ` +
        `echo models $(find /opt/models -type f -printf '%f:%s '); ` +
        `echo builds $(ls /app/node_modules/@node-llama-cpp | tr '\\n' ' ')`,
    );
    const field = (name: string) =>
      measured
        .split("\n")
        .find((line) => line.startsWith(`${name} `))
        ?.slice(name.length + 1) ?? "";
    process.stdout.write(
      `image ${(own / 1e6).toFixed(0)} MB = base ${(under / 1e6).toFixed(0)} MB + ${((own - under) / 1e6).toFixed(0)} MB ` +
        `(files: app ${(Number(field("app")) / 1e6).toFixed(0)} MB, llama.cpp ${(Number(field("llama")) / 1e6).toFixed(0)} MB, ` +
        `model ${field("models").trim()})\n`,
    );
    expect(Number(field("app"))).toBeLessThan(maxAddedBytes);
    // Only this architecture's CPU build of llama.cpp; the CUDA and Vulkan ones weigh 620 MB.
    expect(field("builds").trim()).toBe(`linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
    expect(Number(field("llama"))).toBeLessThan(maxLlamaBytes);
    // Nothing but the pinned model file under /opt/models.
    expect(field("models").trim()).toBe(`${SMOLLM2.file}:${SMOLLM2.bytes}`);
  });

  it("runs as a non-root user and declares a health check", async () => {
    const config = JSON.parse(
      await docker("image", "inspect", "--format", "{{json .Config}}", image),
    ) as { User: string; Healthcheck?: Record<string, number> & { Test: string[] } };
    expect(config.User).toBe("10001:10001");
    expect(config.Healthcheck?.Test.join(" ")).toContain("/healthz");
    // Docker reports durations in nanoseconds; the stacks' probes take theirs from probeTiming.
    const seconds = (key: string) => (config.Healthcheck?.[key] ?? 0) / 1e9;
    expect({
      intervalSeconds: seconds("Interval"),
      timeoutSeconds: seconds("Timeout"),
      startPeriodSeconds: seconds("StartPeriod"),
      retries: config.Healthcheck?.["Retries"],
    }).toEqual(probeTiming);
  });

  it("declares its writable directories as volumes the non-root user may write", async () => {
    const volumes = JSON.parse(
      await docker("image", "inspect", "--format", "{{json .Config.Volumes}}", image),
    ) as Record<string, unknown>;
    // The same paths the stacks mount writable (stacks/aws.ts, stacks/kubernetes.ts).
    expect(Object.keys(volumes).sort()).toEqual([IMAGE_DATA_DIR, "/tmp"].sort());
    const wrote = await docker(
      "run",
      "--rm",
      "--read-only",
      "--network",
      "none",
      image,
      "-e",
      `const fs = require("node:fs");
       for (const dir of ${JSON.stringify([IMAGE_DATA_DIR, "/tmp"])}) fs.writeFileSync(dir + "/probe", "x");
       console.log("wrote");`,
    );
    expect(wrote).toBe("wrote");
  });

  it("is reported healthy by Docker through the image's own HEALTHCHECK", async () => {
    await waitAll(
      containers,
      "healthy",
      async (c) => (await state(c)).Health?.Status === "healthy",
      120_000,
    );
  }, 150_000);

  it("serves a request through the containerised router, gateway tier and service", async () => {
    const auth = { authorization: `Bearer ${apiKey}` };
    for (const r of routers()) {
      const whoami = await fetch(`${url(r.port)}/v1/auth/whoami`, { headers: auth });
      expect([r.name, whoami.status]).toEqual([r.name, 200]);
      expect(await whoami.json()).toMatchObject({ principal: { userId: "demo-user" } });
    }
    // The business tier verifies the key at the identity tier, then orders writes to PostgreSQL.
    const router = url(routers()[0]!.port);
    const created = await fetch(`${router}/v1/orders`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "idempotency-key": runId },
      body: JSON.stringify({ item: "container", quantity: 1 }),
    });
    expect(created.status).toBe(201);
    const anonymous = await fetch(`${router}/v1/orders`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: expect.any(String) } });
  });

  it("serves the API reference page's assets from what the build kept of swagger-ui-dist", async () => {
    const router = url(routers()[0]!.port);
    for (const asset of ["/v1/docs", "/v1/docs/swagger-ui-bundle.js", "/v1/docs/swagger-ui.css"]) {
      const response = await fetch(`${router}${asset}`);
      expect([asset, response.status]).toEqual([asset, 200]);
      expect((await response.text()).length).toBeGreaterThan(100);
    }
    const spec = await fetch(`${router}/v1/openapi.json`);
    expect(spec.status).toBe(200);
    expect(await spec.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  });

  it("serves the web console and the client library's modules it loads, from the image", async () => {
    const router = url(routers()[0]!.port);
    for (const asset of [
      "/console",
      "/console/lib/browser/console.ts",
      "/console/lib/apiTasks.ts",
    ]) {
      const response = await fetch(`${router}${asset}`);
      expect([asset, response.status]).toEqual([asset, 200]);
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect((await response.text()).length).toBeGreaterThan(100);
    }
  });

  it("has a media variant whose FFmpeg and espeak-ng render a voiced scene in the container", async () => {
    const media = `${image}-media`;
    const before = Date.now();
    process.stdout.write(await script("build.sh", [media], { TARGET: "media" }));
    try {
      const rendered = JSON.parse(
        await docker(
          "run",
          "--rm",
          "--network",
          "none",
          "--read-only",
          "--tmpfs",
          "/tmp",
          media,
          "--input-type=module",
          "-e",
          `import { mkdtempSync } from "node:fs";
           import { renderScene, probe } from "/app/services/render/media.ts";
           const workDir = mkdtempSync("/tmp/scene-");
           const style = { background: "#10243e", foreground: "#f4f6fb", accent: "#f2a541" };
           const clip = await renderScene(
             { index: 0, durationSeconds: 2, narration: "Bees make honey.", visual: { kind: "title", title: "Bees" }, style },
             { resolution: "640x360", voice: true, workDir },
           );
           console.log(JSON.stringify(await probe(clip, workDir)));`,
        ),
      ) as Record<string, unknown>;
      expect(rendered).toMatchObject({
        videoCodec: "h264",
        width: 640,
        height: 360,
        audioCodec: "aac",
        faststart: true,
      });
      const size = async (ref: string) =>
        Number(await docker("image", "inspect", "--format", "{{.Size}}", ref));
      const added = (await size(media)) - (await size(image));
      process.stdout.write(
        `media variant: +${(added / 1e6).toFixed(0)} MB over the default image, built in ${Math.round((Date.now() - before) / 1000)} s\n`,
      );
      // The default image stays without them: only the render workers carry FFmpeg.
      await expect(
        docker("run", "--rm", "--network", "none", "--entrypoint", "ffmpeg", image, "-version"),
      ).rejects.toThrow();
    } finally {
      await docker("rmi", "--no-prune", media).catch(() => undefined);
    }
  }, 900_000);

  it("drains and exits 0 on `docker stop` (SIGTERM reaches node through the init)", async () => {
    const last = routers().at(-1)!;
    await docker("stop", "--time", "15", containerName(last));
    expect(await docker("inspect", "--format", "{{.State.ExitCode}}", containerName(last))).toBe(
      "0",
    );
  }, 30_000);
});
