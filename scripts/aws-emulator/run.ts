import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { ROOT, Workspace } from "../../test/pulumi/cli.ts";
import { runProgram } from "../../test/plan/harness.ts";
import { checkDeployment, type StateResource } from "./checks.ts";
import { readEvents, type StepCounts } from "./events.ts";
import { KNOWN_GAPS } from "./gaps.ts";

// `npm run emulate:aws -- [--stack dev|prod]`: the AWS stack's program, unchanged, deployed by the
// real Pulumi engine against moto (an AWS API emulator on loopback) with the kit's AWS provider.
// The stack's own settings are kept; only the AWS provider's are added, pointing every service
// at the emulator. Steps: up, checks on what was deployed, a preview that must show no change,
// one catalog edit applied as an update, destroy. Resources the kit's provider or the emulator
// cannot make are listed with their error, and compared with the known gaps (gaps.ts): an
// unknown failure fails the run, as does a check, a change in the preview or a leftover.

const { values: args } = parseArgs({
  options: { stack: { type: "string", default: "dev" } },
});
const stack = args.stack!;

/** Every AWS API the program calls, each pointed at the emulator (no request leaves loopback). */
const SERVICES = [
  "acm",
  "appautoscaling",
  "cloudwatch",
  "ec2",
  "ecr",
  "ecs",
  "elasticache",
  "elbv2",
  "iam",
  "kafka",
  "kms",
  "lambda",
  "logs",
  "rds",
  "route53",
  "s3",
  "secretsmanager",
  "servicediscovery",
  "sns",
  "sts",
  "wafv2",
];

/**
 * The one program setting the run adds: this machine has no registry to pull the Node base
 * image from, and moto serves ECR's API but no registry to push to, so the stack deploys an
 * image "built elsewhere" in moto's account (a digest that names no image: moto runs no
 * containers). The image's build and push are covered by the Docker stack's real `up`.
 */
const PROGRAM_SETTINGS = {
  "platform:serviceImage": `123456789012.dkr.ecr.us-east-1.amazonaws.com/platform@sha256:${"0".repeat(64)}`,
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

async function startMoto(binary: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(binary, ["-H", "127.0.0.1", "-p", String(port)], {
    env: {
      ...process.env,
      // Terraform's IAM role attachments look the AWS managed policies up.
      MOTO_IAM_LOAD_MANAGED_POLICIES: "true",
      // ECS services report their desired tasks running (moto-ecs-running.patch): moto starts
      // no containers, and `up` waits for each service's steady state.
      MOTO_ECS_SERVICE_RUNNING: "desired",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`moto exited ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) return { url, child };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill();
  throw new Error(`moto did not answer at ${url} within 60 s:\n${log}`);
}

/**
 * A public hosted zone in the emulator for the stack's domain (prod's HTTPS: its certificate is
 * validated and its alias record written there), through moto's own boto3.
 */
function hostedZone(python: string, endpoint: string, domain: string): string {
  const zone = domain.split(".").slice(1).join(".");
  return execFileSync(
    python,
    [
      "-c",
      `import boto3, sys
r53 = boto3.client("route53", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="emulator", aws_secret_access_key="emulator")
zone = r53.create_hosted_zone(Name=sys.argv[2], CallerReference="emulate-aws")
print(zone["HostedZone"]["Id"].split("/")[-1])`,
      endpoint,
      zone,
    ],
    { encoding: "utf8" },
  ).trim();
}

/**
 * The stack's own settings plus the AWS provider's, pointing at the emulator; a stack with a
 * hosted zone gets the emulator's zone for its domain in place of its own.
 */
function emulatedStackFile(dir: string, endpoint: string, python: string): void {
  const { file, doc } = stackFile(dir);
  const domain = doc.config["platform:domainName"];
  if (typeof domain === "string" && doc.config["platform:hostedZoneId"])
    doc.config["platform:hostedZoneId"] = hostedZone(python, endpoint, domain);
  Object.assign(doc.config, {
    ...PROGRAM_SETTINGS,
    "aws:accessKey": "emulator",
    "aws:secretKey": "emulator",
    "aws:skipCredentialsValidation": true,
    "aws:skipRequestingAccountId": true,
    "aws:skipMetadataApiCheck": true,
    "aws:s3UsePathStyle": true,
    "aws:endpoints": [Object.fromEntries(SERVICES.map((s) => [s, endpoint]))],
  });
  writeFileSync(file, stringify(doc));
}

interface StepResult {
  step: string;
  ok: boolean;
  counts: StepCounts;
  seconds: number;
  note: string;
}

async function main(): Promise<number> {
  const tools = Object.fromEntries(
    execFileSync("bash", [join(ROOT, "scripts/aws-emulator/ensure.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    })
      .trim()
      .split("\n")
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  // Each step's whole output, kept after the run for what the table cannot say.
  const logs = mkdtempSync(join(tmpdir(), `emulate-aws-${stack}-`));
  const moto = await startMoto(tools["MOTO_SERVER"]!);
  console.log(`emulate:aws: each step's output goes to ${logs} as it runs`);
  console.log(`emulate:aws: moto at ${moto.url}; stack ${stack}`);
  const ws = new Workspace({ PULUMI_HOME: tools["PULUMI_HOME"] });
  const results: StepResult[] = [];
  const failures = new Map<string, string>();
  let exit = 0;
  const fail = (why: string) => {
    console.error(`emulate:aws: FAILED: ${why}`);
    exit = 1;
  };
  try {
    // What the program declares for this stack, from the mock engine: what up must deploy.
    const planned = (await runProgram({ stack, projectDir: ROOT, config: PROGRAM_SETTINGS }))
      .records.all;
    emulatedStackFile(ws.dir, moto.url, join(dirname(tools["MOTO_SERVER"]!), "python"));
    await ws.run(["stack", "init", stack, "--non-interactive"]);

    const step = async (name: string, cmd: string[], note = ""): Promise<StepResult> => {
      const t0 = Date.now();
      // `up` and `destroy` with --json print the engine's events as JSON lines as they happen.
      const json = cmd[0] === "preview" ? [] : ["--json"];
      const res = await ws.exec([...cmd, ...json, "--stack", stack, "--non-interactive"], {
        timeoutMs: 60 * 60_000,
        tee: join(logs, `${results.length + 1}-${name}.log`),
      });
      const events = readEvents(res.stdout);
      for (const [urn, message] of events.failed) failures.set(urn, message);
      const result = {
        step: name,
        ok: res.code === 0,
        counts: events.counts,
        seconds: Math.round((Date.now() - t0) / 1000),
        note: note || (res.code === 0 ? "" : lastLine(res.stderr || res.stdout)),
      };
      results.push(result);
      console.log(
        `emulate:aws: ${name}: exit ${res.code} in ${result.seconds} s ${JSON.stringify(events.counts)}`,
      );
      return result;
    };

    await step("up", ["up", "--yes", "--skip-preview", "--continue-on-error"]);
    const state = await exportState(ws);
    const { problems, summary } = checkDeployment(planned, state, failures);
    console.log(summary);
    for (const problem of problems) fail(problem);

    const preview = await step("preview", ["preview", "--expect-no-changes"]);
    if (!preview.ok && failures.size === 0) fail("the preview after up shows changes");

    editCatalog(ws.dir);
    const update = await step("update", ["up", "--yes", "--skip-preview", "--continue-on-error"]);
    if (update.counts.create + update.counts.delete + update.counts.replace > 0)
      fail(
        `a replica count edit created, deleted or replaced resources: ${JSON.stringify(update.counts)}`,
      );
    if (update.counts.update === 0 && failures.size === 0) fail("the catalog edit updated nothing");

    // As an operator tears down a protected stack: protection off first, then destroy.
    if (String(stackFile(ws.dir).doc.config["platform:deletionProtection"]) === "true") {
      await ws.run(["config", "set", "platform:deletionProtection", "false", "--stack", stack]);
      await step("unprotect", ["up", "--yes", "--skip-preview", "--continue-on-error"]);
    }
    const destroy = await step("destroy", ["destroy", "--yes", "--continue-on-error"]);
    const left = (await exportState(ws)).filter((r) => !r.type.startsWith("pulumi:"));
    if (!destroy.ok || left.length > 0)
      fail(`destroy left ${left.length} resources: ${left.map((r) => r.type).join(", ")}`);
  } catch (err) {
    fail((err as Error).message);
  } finally {
    moto.child.kill();
    ws.remove();
  }
  console.log(`emulate:aws: each step's output is in ${logs}`);
  exit = Math.max(exit, report(results, failures));
  return exit;
}

/** The stack's file in the copy, parsed. */
function stackFile(dir: string): { file: string; doc: { config: Record<string, unknown> } } {
  const file = join(dir, `Pulumi.${stack}.yaml`);
  return { file, doc: parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> } };
}

async function exportState(ws: Workspace): Promise<StateResource[]> {
  const { stdout } = await ws.run(["stack", "export", "--stack", stack]);
  const state = JSON.parse(stdout) as { deployment: { resources?: StateResource[] } };
  return state.deployment.resources ?? [];
}

/** The one catalog edit: a third orders replica (an ECS service's desired count, its scaling). */
function editCatalog(dir: string): void {
  const file = join(dir, "platform/catalog/default.ts");
  const source = readFileSync(file, "utf8");
  const edited = source.replace(
    /(orders: \{\n\s+domain: "business",\n\s+routes: \["\/v1\/orders"\],\n\s+replicas: )2,/,
    "$13,",
  );
  if (edited === source) throw new Error("could not find orders' replica count in the catalog");
  writeFileSync(file, edited);
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

/** Prints the steps and the gaps; 1 when a failure is not a known gap. */
function report(results: StepResult[], failures: Map<string, string>): number {
  console.log("\nstep     exit  created  updated  replaced  deleted  failed  seconds");
  for (const r of results) {
    const c = r.counts;
    console.log(
      `${r.step.padEnd(8)} ${(r.ok ? "ok" : "FAIL").padEnd(5)} ${String(c.create).padStart(7)}  ${String(c.update).padStart(7)}  ${String(c.replace).padStart(8)}  ${String(c.delete).padStart(7)}  ${String(c.failed).padStart(6)}  ${String(r.seconds).padStart(7)}${r.note ? `  ${r.note}` : ""}`,
    );
  }
  const byType = new Map<string, string[]>();
  for (const [urn, message] of failures) {
    const type = urn.split("::")[2]!.split("$").pop()!;
    byType.set(type, [...(byType.get(type) ?? []), message]);
  }
  let exit = 0;
  if (byType.size > 0) console.log("\nresource types the emulator run could not make:");
  for (const [type, messages] of byType) {
    const known = KNOWN_GAPS[type];
    console.log(`  ${type} (${messages.length}): ${known ? `known gap: ${known}` : "UNKNOWN"}`);
    console.log(`    ${messages[0]!.split("\n").slice(0, 3).join("\n    ")}`);
    if (!known) exit = 1;
  }
  for (const type of Object.keys(KNOWN_GAPS))
    if (!byType.has(type)) console.log(`  ${type}: listed as a gap in gaps.ts but made: remove it`);
  return exit;
}

process.exitCode = await main();
