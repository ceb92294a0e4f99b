import { join } from "node:path";
import { dockerEngineOrSkip } from "./engineSetup.ts";
import { PULUMI_TEST_TIMEOUT_MS, ROOT, Workspace } from "./cli.ts";

// The real Pulumi CLI on a fresh copy of the project: every stack that the engine can run here
// previews with no configuration beyond its tracked stack file, under the policy pack; a bad
// setting or a missing engine stops the preview with one sentence; and the pack blocks a stack
// that breaks a mandatory rule. (The AWS stacks need the AWS provider: they stay under mocks.)

jest.setTimeout(PULUMI_TEST_TIMEOUT_MS);

let skip: string | undefined;
let ws: Workspace;
const policyPack = join(ROOT, "policy");

beforeAll(async () => {
  skip = await dockerEngineOrSkip();
  if (skip) return;
  ws = new Workspace();
  for (const stack of ["docker", "k8s"]) await ws.run(["stack", "init", stack]);
});
afterAll(() => ws?.remove());

/** A stack trace line of the program, which a config error must not print. */
const stackFrame = /^\s+at .*\.(ts|js):\d+/m;

describe.each(["docker", "k8s"])("a fresh %s stack", (stack) => {
  it("previews with the real providers and passes the policy pack", async () => {
    if (skip) return console.warn(`skipped: ${skip}`);
    const { stdout } = await ws.run([
      "preview",
      "--stack",
      stack,
      "--policy-pack",
      policyPack,
      "--non-interactive",
    ]);
    expect(stdout).toMatch(/\+ \d+ to create/);
    expect(stdout).toMatch(/✅ platform@v0\.1\.0/);
    // Every secret it needs is generated, and none is asked of the user.
    expect(stdout).toMatch(/random:index:RandomPassword\s+platform-admin-token/);
  });
});

it("previews a k8s stack on a cluster with KEDA: render's ScaledObject passes the pack", async () => {
  if (skip) return console.warn(`skipped: ${skip}`);
  await ws.run(["config", "set", "--stack", "k8s", "platform:kedaNamespace", "keda"]);
  try {
    const { stdout } = await ws.run([
      "preview",
      "--stack",
      "k8s",
      "--policy-pack",
      policyPack,
      "--non-interactive",
    ]);
    expect(stdout).toMatch(/kubernetes:keda\.sh\/v1alpha1:ScaledObject\s+render\b/);
    expect(stdout).not.toMatch(/kubernetes:autoscaling\/v2:HorizontalPodAutoscaler\s+render\b/);
    expect(stdout).toMatch(/✅ platform@v0\.1\.0/);
  } finally {
    await ws.run(["config", "rm", "--stack", "k8s", "platform:kedaNamespace"]);
  }
});

it("names the setting and what it expects when a value is wrong, without a stack trace", async () => {
  if (skip) return console.warn(`skipped: ${skip}`);
  await ws.run(["config", "set", "--stack", "docker", "platform:routerPort", "80000"]);
  try {
    const result = await ws.exec(["preview", "--stack", "docker", "--non-interactive"]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("platform:routerPort must be between 1 and 65535");
    expect(result.stdout + result.stderr).not.toMatch(stackFrame);
  } finally {
    await ws.run(["config", "rm", "--stack", "docker", "platform:routerPort"]);
  }
});

it("refuses a secret set in plain text, naming the key", async () => {
  if (skip) return console.warn(`skipped: ${skip}`);
  await ws.run([
    "config",
    "set",
    "--stack",
    "k8s",
    "platform:postgresPassword",
    "plain-password-1",
  ]);
  try {
    const result = await ws.exec(["preview", "--stack", "k8s", "--non-interactive"]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("platform:postgresPassword is a secret");
    expect(result.stdout).not.toContain("plain-password-1");
  } finally {
    await ws.run(["config", "rm", "--stack", "k8s", "platform:postgresPassword"]);
  }
});

it("stops before any resource when no Docker engine answers", async () => {
  if (skip) return console.warn(`skipped: ${skip}`);
  const socket = "unix:///nonexistent/docker.sock";
  const result = await ws.exec(["preview", "--stack", "docker", "--non-interactive"], {
    env: { DOCKER_HOST: socket },
  });
  expect(result.code).not.toBe(0);
  expect(result.stdout).toContain(`none answers at ${socket}`);
  expect(result.stdout).not.toMatch(/docker:index:Image/);
  expect(result.stdout + result.stderr).not.toMatch(stackFrame);
});

it("blocks a preview whose stack config breaks a mandatory policy, naming the rule", async () => {
  if (skip) return console.warn(`skipped: ${skip}`);
  const cwd = "test/pulumi/fixtures/violation";
  const preview = async (stack: string) => {
    await ws.run(["stack", "init", stack], { cwd });
    return ws.exec(
      ["preview", "--stack", stack, "--policy-pack", policyPack, "--non-interactive"],
      { cwd },
    );
  };
  // The same program passes with two replicas, so the one violation below is the config's.
  const paired = await preview("paired");
  expect([paired.code, paired.stdout]).toEqual([0, expect.stringMatching(/✅ platform/)]);
  const single = await preview("single");
  expect(single.code).not.toBe(0);
  const violations = single.stdout.match(/\[mandatory\]\s+\S+/g) ?? [];
  expect(violations.map((v) => v.split(/\s+/)[1])).toEqual(["k8s-availability"]);
  expect(single.stdout).toContain("needs 2+ replicas (has 1)");
});
