import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

// The workflows cannot run here, so this checks what a workflow linter would: the structure
// GitHub accepts, actions pinned to a major version, every `${{ }}` context and matrix key
// known, and every file, stack and policy pack a step names present in the repository.

const dir = join(process.cwd(), ".github/workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: string;
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown[]> };
  steps?: Step[];
}
interface Workflow {
  name?: string;
  on?: unknown;
  jobs?: Record<string, Job>;
}

const load = (file: string) => parse(readFileSync(join(dir, file), "utf8")) as Workflow;

test("there are workflows for tests and for Pulumi", () => {
  expect(files.sort()).toEqual(["pulumi.yml", "test.yml"]);
});

describe.each(files)("%s", (file) => {
  const wf = load(file);
  const jobs = Object.entries(wf.jobs ?? {});

  test("has a name, triggers and jobs that each run somewhere with steps", () => {
    expect(wf.name).toEqual(expect.any(String));
    expect(wf.on).toBeDefined();
    expect(jobs.length).toBeGreaterThan(0);
    for (const [, job] of jobs) {
      expect(job["runs-on"]).toMatch(/^ubuntu-/);
      expect(job.steps?.length).toBeGreaterThan(0);
      for (const need of [job.needs ?? []].flat()) expect(wf.jobs).toHaveProperty(need);
    }
  });

  test("every step either uses a pinned action or runs a command", () => {
    for (const [, job] of jobs) {
      for (const step of job.steps!) {
        expect(Number(step.uses !== undefined) + Number(step.run !== undefined)).toBe(1);
        if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+(\/[\w-]+)*@v\d+$/);
      }
    }
  });

  test("expressions use known contexts, and matrix keys exist", () => {
    const text = readFileSync(join(dir, file), "utf8");
    const expressions = [...text.matchAll(/\$\{\{\s*(.+?)\s*\}\}/g)].map((m) => m[1]!);
    const matrixKeys = new Set(jobs.flatMap(([, job]) => Object.keys(job.strategy?.matrix ?? {})));
    for (const expr of expressions) {
      const [context, key] = expr.split(/[.\s]/);
      expect(["secrets", "vars", "matrix", "github", "env", "steps"]).toContain(context);
      if (context === "matrix") expect(matrixKeys.has(key!)).toBe(true);
    }
  });

  test("files, stacks and policy packs it names exist", () => {
    for (const [, job] of jobs) {
      const stacks = job.strategy?.matrix?.["stack"] ?? [];
      for (const step of job.steps!) {
        const w = step.with ?? {};
        if (w["node-version-file"]) expect(existsSync(String(w["node-version-file"]))).toBe(true);
        if (w["policyPacks"])
          expect(existsSync(join(String(w["policyPacks"]), "PulumiPolicy.yaml"))).toBe(true);
        const stack = String(w["stack-name"] ?? "");
        for (const name of stack.startsWith("${{") ? stacks : stack ? [stack] : [])
          expect(existsSync(`Pulumi.${String(name)}.yaml`)).toBe(true);
        const script = /^bash (\S+)$/.exec(step.run ?? "")?.[1];
        if (script) expect(existsSync(script)).toBe(true);
      }
    }
  });
});

test("pull requests preview with the read-only role; only a job in an environment may deploy", () => {
  // Branch code runs in a preview: it must not hold credentials that can change the account.
  const roleOf = (job: Job & { environment?: unknown }) =>
    job.steps!.flatMap((s) =>
      s.uses?.startsWith("aws-actions/configure-aws-credentials@")
        ? [String(s.with?.["role-to-assume"])]
        : [],
    );
  const jobs = Object.entries(load("pulumi.yml").jobs ?? {}) as [
    string,
    Job & { if?: string; environment?: unknown },
  ][];
  const assumed = jobs.flatMap(([name, job]) =>
    roleOf(job).map((role) => ({
      name,
      role,
      onPullRequest: String(job.if ?? "").includes("pull_request"),
      environment: job.environment,
    })),
  );
  expect(assumed.length).toBeGreaterThanOrEqual(2);
  for (const a of assumed) {
    if (a.onPullRequest) expect(a).toMatchObject({ role: "${{ vars.AWS_PREVIEW_ROLE_ARN }}" });
    if (a.role.includes("AWS_DEPLOY_ROLE_ARN")) expect(a.environment).toEqual(expect.any(String));
    expect(a.role).not.toContain("AWS_ROLE_ARN }}");
  }
  expect(assumed.some((a) => a.role.includes("AWS_DEPLOY_ROLE_ARN"))).toBe(true);
});
