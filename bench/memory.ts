// Issue 21: does `npm start` fit a laptop? Runs `npm start`'s own command (stacks/local/run.ts)
// as a user would, times it from the command to its `ready` line, reads every process's resident
// memory from /proc after start and again after 1 000 mixed requests through the router, then
// starts the topology once more with a module trace to say which packages each program loads and
// what each costs on its own.
//
//   node bench/memory.ts [--replicas N] [--no-modules]
//
// Targets: <= 2 GiB resident in all (PSS: the Node binary's pages that every process shares are
// counted once, as RAM holds them), about 60 MiB per process, and `ready` within 10 s.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { freePorts } from "../stacks/local/ports.ts";
import { childPids, cpuMs } from "./support/cpu.ts";
import { ClientLoad, simulatedClients, type LoadRequest } from "./support/clientLoad.ts";
import { failed, median, printFigures, statusHistogram, verdict } from "./support/report.ts";
import {
  commandLine,
  environmentOf,
  mib,
  residentMemory,
  type Resident,
} from "./support/residentMemory.ts";
import { ROOT } from "./support/topology.ts";

const TOTAL_TARGET_MIB = 2048;
const PER_PROCESS_TARGET_MIB = 60;
const READY_TARGET_MS = 10_000;
const REQUESTS = 1000;

const { values: opts } = parseArgs({
  options: { replicas: { type: "string" }, "no-modules": { type: "boolean", default: false } },
});
const runArgs = opts.replicas ? ["--replicas", opts.replicas] : [];

interface Started {
  proc: ChildProcess;
  readyMs: number;
  url: string;
  apiKey: string;
  dir: string;
}

/** Runs `npm start`'s command with its own data and logs, echoing its progress lines. */
async function startTopology(extraEnv: Record<string, string>, echo: boolean): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "bench-memory-"));
  const [port] = await freePorts(1);
  const t0 = performance.now();
  const proc = spawn(process.execPath, ["stacks/local/run.ts", ...runArgs], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: join(dir, "data"),
      LOG_DIR: join(dir, "logs"),
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let url = "";
  let apiKey = "";
  let readyMs = NaN;
  for await (const line of createInterface({ input: proc.stdout! })) {
    const at = performance.now() - t0;
    if (echo) console.log(`  ${(at / 1000).toFixed(1).padStart(5)} s | ${line}`);
    url ||= /^ready (\S+)/.exec(line)?.[1] ?? "";
    if (url && Number.isNaN(readyMs)) readyMs = at;
    apiKey ||= /^demo API key: (\S+)/.exec(line)?.[1] ?? "";
    if (url && apiKey) break;
  }
  if (!url || !apiKey) throw new Error(`npm start ended without a ready line (logs: ${dir}/logs)`);
  // Keep reading, so that a later line cannot block the runner on a full pipe.
  proc.stdout!.resume();
  return { proc, readyMs, url, apiKey, dir };
}

async function stopTopology(s: Started): Promise<void> {
  const exited = new Promise((ok) => s.proc.once("exit", ok));
  s.proc.kill("SIGTERM");
  await exited;
  rmSync(s.dir, { recursive: true, force: true });
}

interface Sample {
  program: string;
  pid: number;
  mem: Resident;
}

/** Every process the runner started: its program (`orders`, `gateway identity`...) and memory. */
function sample(runner: number): Sample[] {
  return childPids(runner).flatMap((pid) => {
    const mem = residentMemory(pid);
    const script = commandLine(pid).find((a) => a.endsWith("main.ts")) ?? "?";
    const name = /services\/([^/]+)\/main\.ts$/.exec(script)?.[1] ?? script;
    const program = name === "gateway" ? `gateway ${environmentOf(pid, "DOMAIN")}` : name;
    return mem ? [{ program, pid, mem }] : [];
  });
}

function report(title: string, samples: Sample[]): { pssMiB: number; worstMiB: number } {
  const sum = (f: (r: Resident) => number, xs = samples) => xs.reduce((t, s) => t + f(s.mem), 0);
  const programs = [...new Set(samples.map((s) => s.program))].sort();
  console.log(`\n${title}: ${samples.length} processes`);
  console.log("  program              n   RSS each   PSS each   USS each");
  for (const p of programs) {
    const xs = samples.filter((s) => s.program === p);
    const each = (f: (r: Resident) => number) => mib(sum(f, xs) / xs.length).padStart(10);
    console.log(
      `  ${p.padEnd(18)} ${String(xs.length).padStart(3)} ${each((r) => r.rssKiB)} ${each((r) => r.pssKiB)} ${each((r) => r.ussKiB)}`,
    );
  }
  const worst = Math.max(...samples.map((s) => s.mem.pssKiB));
  printFigures([
    ["  total RSS (ps's sum: shared pages counted per process)", mib(sum((r) => r.rssKiB))],
    ["  total PSS (shared pages counted once)", mib(sum((r) => r.pssKiB))],
    ["  total USS (private pages only)", mib(sum((r) => r.ussKiB))],
    [
      "  PSS per process: mean / largest",
      `${mib(sum((r) => r.pssKiB) / samples.length)} / ${mib(worst)}`,
    ],
  ]);
  return { pssMiB: sum((r) => r.pssKiB) / 1024, worstMiB: worst / 1024 };
}

/** A second key of the demo user, made as a client would. */
async function createKey(s: Started): Promise<string> {
  const res = await fetch(`${s.url}/v1/auth/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-memory" }),
  });
  if (res.status !== 201) throw new Error(`POST /v1/auth/keys: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

/** A user's day in miniature: every public service, reads and writes, a few completions. */
function mixedRequest(run: string): (client: number, seq: number) => LoadRequest {
  const json = { "content-type": "application/json" };
  const mix: Array<(id: string) => LoadRequest> = [
    () => ({ kind: "whoami", method: "GET", path: "/v1/auth/whoami" }),
    () => ({ kind: "orders list", method: "GET", path: "/v1/orders?limit=20" }),
    (id) => ({
      kind: "orders create",
      method: "POST",
      path: "/v1/orders",
      headers: { ...json, "idempotency-key": id },
      body: JSON.stringify({ item: "notebook", quantity: 2 }),
    }),
    () => ({ kind: "articles list", method: "GET", path: "/v1/articles?limit=20" }),
    (id) => ({
      kind: "articles create",
      method: "POST",
      path: "/v1/articles",
      headers: { ...json, "idempotency-key": id },
      body: JSON.stringify({ title: `Note ${id}`, body: "What the sea said." }),
    }),
    () => ({ kind: "plans", method: "GET", path: "/v1/users/plans" }),
    () => ({ kind: "quota", method: "GET", path: "/v1/quota" }),
    () => ({ kind: "files", method: "GET", path: "/v1/files" }),
    () => ({ kind: "billing", method: "GET", path: "/v1/billing/usage" }),
    () => ({ kind: "training jobs", method: "GET", path: "/v1/training/jobs" }),
  ];
  // Completions and the model list share a limit of 60 a minute per key (the catalog): each is one
  // request in 25, from two keys.
  const chat: LoadRequest = {
    kind: "chat",
    method: "POST",
    path: "/v1/chat/completions",
    headers: json,
    body: JSON.stringify({
      model: "deepseek-chat",
      messages: [{ role: "user", content: "Tell me about the sea" }],
      temperature: 0,
      max_tokens: 32,
    }),
  };
  const models: LoadRequest = { kind: "models", method: "GET", path: "/v1/models" };
  let n = 0;
  return (client, seq) => {
    n++;
    if (n % 25 === 0) return chat;
    if (n % 25 === 12) return models;
    return mix[n % mix.length]!(`${run}-${client}-${seq}`);
  };
}

/** Which packages each program imports itself (a traced start of the topology). */
async function tracePackages(): Promise<Map<string, { programs: Set<string>; processes: number }>> {
  const traceDir = mkdtempSync(join(tmpdir(), "bench-memory-trace-"));
  const traced = await startTopology(
    {
      MODULE_TRACE_DIR: traceDir,
      NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --import=${join(ROOT, "bench/support/moduleTrace.ts")}`,
    },
    false,
  );
  await stopTopology(traced);
  const packages = new Map<string, { programs: Set<string>; processes: number }>();
  for (const file of readdirSync(traceDir)) {
    const t = JSON.parse(readFileSync(join(traceDir, file), "utf8")) as {
      program: string;
      packages: string[];
    };
    if (t.program === "stacks/local/run.ts") continue;
    for (const p of t.packages) {
      const entry = packages.get(p) ?? { programs: new Set<string>(), processes: 0 };
      entry.programs.add(/services\/([^/]+)\//.exec(t.program)?.[1] ?? t.program);
      entry.processes++;
      packages.set(p, entry);
    }
  }
  rmSync(traceDir, { recursive: true, force: true });
  return packages;
}

/**
 * What importing `pkg` costs a fresh Node process with the topology's flags: private resident
 * memory (RssAnon, after a GC) and time, each the median of three processes, less a bare
 * process's.
 */
function importCost(pkg: string | undefined, nodeFlags: string[]): { anonKiB: number; ms: number } {
  const script = `
    import { readFileSync } from "node:fs";
    const t0 = performance.now();
    ${pkg ? `await import(${JSON.stringify(pkg)});` : ""}
    const ms = performance.now() - t0;
    globalThis.gc();
    const anon = /RssAnon:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1];
    console.log(JSON.stringify({ anonKiB: Number(anon), ms }));`;
  const runs = Array.from({ length: 3 }, () => {
    const out = spawnSync(
      process.execPath,
      [...nodeFlags, "--expose-gc", "--input-type=module", "-e", script],
      { cwd: ROOT, encoding: "utf8" },
    );
    if (out.status !== 0) throw new Error(`import ${pkg}: ${out.stderr}`);
    return JSON.parse(out.stdout) as { anonKiB: number; ms: number };
  });
  return {
    anonKiB: median(runs.map((r) => r.anonKiB)),
    ms: median(runs.map((r) => r.ms)),
  };
}

/** Memory after start and after the mixed requests, and the flags the processes run with. */
async function measure(started: Started) {
  const pid = started.proc.pid!;
  // CPU time is what a start costs whatever else the machine runs: on N idle cores, the ready
  // time cannot be below the total divided by N.
  const startCpuMs = [pid, ...childPids(pid)].reduce((t, p) => t + cpuMs(p), 0);
  console.log(
    `\nCPU time spent by the start (runner and every process): ${(startCpuMs / 1000).toFixed(1)} s`,
  );
  const afterStart = report("After start", sample(pid));
  const child = childPids(pid)[0]!;
  const nodeFlags = [
    ...commandLine(child).slice(1, -1),
    ...(environmentOf(child, "NODE_OPTIONS")?.split(" ").filter(Boolean) ?? []),
  ];
  const keys = [started.apiKey, await createKey(started)];
  const outcomes = await ClientLoad.start({
    target: started.url,
    clients: simulatedClients(keys, 4),
    next: mixedRequest(`mem-${Date.now()}`),
    ratePerSecond: 100,
    maxRequests: REQUESTS,
    maxSeconds: 120,
  }).done();
  console.log(`\n${outcomes.length} mixed requests: ${statusHistogram(outcomes)}`);
  for (const kind of new Set(outcomes.filter(failed).map((o) => o.kind))) {
    const answers = outcomes.filter((o) => o.kind === kind && failed(o));
    console.log(`  not 2xx, ${kind}: ${statusHistogram(answers)}`);
  }
  const afterLoad = report(`After ${outcomes.length} requests`, sample(pid));
  return { afterStart, afterLoad, nodeFlags };
}

async function printPackageCosts(nodeFlags: string[]): Promise<void> {
  const packages = await tracePackages();
  const bare = importCost(undefined, nodeFlags);
  const rows = [...packages].map(([pkg, use]) => {
    const cost = importCost(pkg, nodeFlags);
    return { pkg, use, anonKiB: Math.max(0, cost.anonKiB - bare.anonKiB), ms: cost.ms };
  });
  rows.sort((a, b) => b.anonKiB * b.use.processes - a.anonKiB * a.use.processes);
  console.log(
    `\nPackages the project imports, by cost over the topology (each alone in a fresh process` +
      ` with ${nodeFlags.join(" ") || "no flags"}; private memory after a GC, median of 3):`,
  );
  console.log("  package                           each    import   processes  programs");
  for (const r of rows) {
    console.log(
      `  ${r.pkg.padEnd(30)} ${mib(r.anonKiB).padStart(9)} ${`${r.ms.toFixed(0)} ms`.padStart(8)} ${String(r.use.processes).padStart(11)}  ${[...r.use.programs].sort().join(" ")}`,
    );
  }
  console.log(
    "  (each package's figure includes what it imports, so packages that share dependencies overlap)",
  );
}

const started = await startTopology({}, true);
const { afterStart, afterLoad, nodeFlags } = await measure(started).finally(() =>
  stopTopology(started),
);
if (!opts["no-modules"]) await printPackageCosts(nodeFlags);

console.log("");
const worst = Math.max(afterStart.worstMiB, afterLoad.worstMiB);
printFigures([
  [
    "ready after",
    `${(started.readyMs / 1000).toFixed(1)} s (target <= ${READY_TARGET_MS / 1000} s)`,
  ],
  [
    "total PSS after start / after load",
    `${afterStart.pssMiB.toFixed(0)} / ${afterLoad.pssMiB.toFixed(0)} MiB (target <= ${TOTAL_TARGET_MIB})`,
  ],
  [
    "largest process (PSS)",
    `${worst.toFixed(1)} MiB (about ${PER_PROCESS_TARGET_MIB} per process)`,
  ],
]);
const passed =
  started.readyMs <= READY_TARGET_MS &&
  Math.max(afterStart.pssMiB, afterLoad.pssMiB) <= TOTAL_TARGET_MIB;
process.exit(
  verdict(
    passed,
    `ready <= ${READY_TARGET_MS / 1000} s, total PSS <= ${TOTAL_TARGET_MIB} MiB after start and after load`,
  ),
);
