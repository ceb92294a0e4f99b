// The client library's threads against the same library on one thread (issue #20), side by
// side in one run, on `npm start` (real PostgreSQL and Redis, limits raised as in every load
// bench) with 200 sessions, each its own user and key, looping over a mix of streamed chats,
// reads, writes and 4 MiB uploads:
// - completed operations per second, threads / one thread (target >= 1.5x on two cores);
// - the caller's event-loop delay p99 in each mode (target < 10 ms with threads);
// then streamed chats alone, the library against the official `openai` client (no slower);
// then the client's own capacity: the same rounds against a replay of the platform's recorded
// answers (support/replayServer.ts), the platform stopped, so the client has the cores.
// The modes alternate (threads, one thread, threads, one thread) so drift on a shared machine
// falls on both. The platform runs on the same two cores as the client: see bench/README.md.
//
//   npm run bench:client   (about 8 minutes)
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import OpenAI from "openai";
import { PlatformClient, type Session } from "../clients/platform-client/src/index.ts";
import { adminKey, createUserKey } from "../test/support/users.ts";
import { benchCatalog } from "./support/benchCatalog.ts";
import { startLocalRun } from "./support/localRun.ts";
import { cpuMs } from "./support/cpu.ts";
import type { Recording } from "./support/replayServer.ts";
import { printFigures } from "./support/report.ts";
import { startDataStores } from "./support/stores.ts";
import { ROOT } from "./support/topology.ts";

const SESSIONS = Number(process.env["BENCH_SESSIONS"] ?? 200);
const ROUND_SECONDS = Number(process.env["BENCH_ROUND_SECONDS"] ?? 30);
const UPLOAD_BYTES = 4 * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), "bench-client-"));
const stores = await startDataStores();
const catalogFile = join(work, "catalog.json");
writeFileSync(catalogFile, JSON.stringify(benchCatalog()));
const local = await startLocalRun({ work, catalogFile, stores });
let platformStopped: Promise<void> | undefined;
const stopPlatform = () => (platformStopped ??= local.stop().then(() => stores.stop()));

/** A fine-tune corpus, as text the storage service accepts. */
const corpus = join(work, "corpus.jsonl");
const line = '{"prompt":"what does the gateway do?","completion":"it routes and retries"}\n';
writeFileSync(corpus, line.repeat(Math.ceil(UPLOAD_BYTES / line.length)));

interface RoundFigures {
  ops: number;
  failed: number;
  seconds: number;
  loopP99Ms: number;
  byKind: Record<string, number>;
}

/** Every session loops over the mix until the round ends; the caller's loop delay is sampled. */
async function round(
  client: PlatformClient,
  keys: string[],
  model: string,
  seconds = ROUND_SECONDS,
): Promise<RoundFigures> {
  const sessions: Session[] = keys.map((k, i) => client.session(k, { name: `s${i}` }));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const byKind: Record<string, number> = {};
  let ops = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  loop.enable();
  await Promise.all(
    sessions.map(async (s, n) => {
      for (let seq = n; performance.now() < end; seq++) {
        // Per 20 operations: 8 reads, 5 writes, 6 streamed chats, 1 upload of 4 MiB.
        const slot = seq % 20;
        const kind = slot < 8 ? "read" : slot < 13 ? "write" : slot < 19 ? "chat" : "upload";
        try {
          if (kind === "read") await s.call("get", "/v1/orders", { query: { limit: 20 } });
          else if (kind === "write")
            await s.call("post", "/v1/orders", { body: { item: "pen", quantity: 1 } });
          else if (kind === "chat")
            await s.chat({ model, messages: [{ role: "user", content: `hello ${seq}` }] });
          else {
            const file = await s.upload({ path: corpus }, { purpose: "fine-tune" });
            await s.call("delete", "/v1/files/{id}", { params: { id: file.id } });
          }
          ops++;
          byKind[kind] = (byKind[kind] ?? 0) + 1;
        } catch (err) {
          failed++;
          if (failed <= 5) console.error(`  ${kind} failed: ${(err as Error).message}`);
        }
      }
    }),
  );
  loop.disable();
  return {
    ops,
    failed,
    seconds: (performance.now() - started) / 1000,
    loopP99Ms: loop.percentile(99) / 1e6,
    byKind,
  };
}

/** Streamed chats alone, sequential per session, with `chat` as the one client call. */
async function chatsOnly(sessions: number, chat: (i: number, seq: number) => Promise<string>) {
  const started = performance.now();
  const end = started + (ROUND_SECONDS / 2) * 1000;
  let done = 0;
  let chars = 0;
  await Promise.all(
    Array.from({ length: sessions }, async (_, i) => {
      for (let seq = 0; performance.now() < end; seq++) {
        chars += (await chat(i, seq)).length;
        done++;
      }
    }),
  );
  return { perSecond: done / ((performance.now() - started) / 1000), chars };
}

/** One answer of each kind the rounds ask for, recorded from the platform as it sent it. */
async function record(origin: string, key: string, model: string): Promise<Recording[]> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const take = async (method: string, prefix: string, r: Response): Promise<Recording> => {
    if (!r.ok) throw new Error(`recording ${method} ${prefix}: ${r.status} ${await r.text()}`);
    const contentType = r.headers.get("content-type") ?? "application/json";
    return { method, prefix, status: r.status, contentType, body: await r.text() };
  };
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", new Blob([readFileSync(corpus)]), "corpus.jsonl");
  const upload = await take(
    "POST",
    "/v1/files",
    await fetch(`${origin}/v1/files`, {
      method: "POST",
      headers: { authorization: headers.authorization },
      body: form,
    }),
  );
  const id = (JSON.parse(upload.body) as { id: string }).id;
  return [
    await take("GET", "/v1/orders", await fetch(`${origin}/v1/orders?limit=20`, { headers })),
    await take(
      "POST",
      "/v1/orders",
      await fetch(`${origin}/v1/orders`, {
        method: "POST",
        headers,
        body: JSON.stringify({ item: "pen", quantity: 1 }),
      }),
    ),
    await take(
      "POST",
      "/v1/chat/completions",
      await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }] }),
      }),
    ),
    upload,
    await take(
      "DELETE",
      "/v1/files/",
      await fetch(`${origin}/v1/files/${id}`, { method: "DELETE", headers }),
    ),
  ];
}

/** The replay server on its own process; resolves to its origin and a way to stop it. */
async function startReplay(recordings: Recording[]) {
  const file = join(work, "recordings.json");
  writeFileSync(file, JSON.stringify(recordings));
  const child = spawn(process.execPath, [join(ROOT, "bench/support/replayServer.ts"), file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  return {
    origin: `http://127.0.0.1:${line.toString().trim()}`,
    pid: child.pid!,
    stop: () => child.kill(),
  };
}

type Mode = "threads" | "one thread";

/**
 * Rounds of each mode in turn, twice, after an uncounted warm-up of each. With `serverPid`, each
 * round also reports the CPU the client (all its threads) and that server used, in cores.
 */
async function alternate(
  origin: string,
  keys: string[],
  model: string,
  seconds: number,
  serverPid?: number,
) {
  const clients: [Mode, PlatformClient][] = [
    ["threads", new PlatformClient({ origin })],
    ["one thread", new PlatformClient({ origin, threads: false })],
  ];
  const results: Record<Mode, RoundFigures[]> = { threads: [], "one thread": [] };
  for (const [, client] of clients) await round(client, keys.slice(0, 20), model, 5);
  for (let r = 0; r < 2; r++) {
    for (const [name, client] of clients) {
      const client0 = process.cpuUsage();
      const server0 = serverPid ? cpuMs(serverPid) : 0;
      const f = await round(client, keys, model, seconds);
      results[name].push(f);
      const cores = (ms: number) => (ms / 1000 / f.seconds).toFixed(2);
      const used = process.cpuUsage(client0);
      const cpu = serverPid
        ? `, cores used: client ${cores((used.user + used.system) / 1000)}, server ${cores(cpuMs(serverPid) - server0)}`
        : "";
      console.log(
        `  ${name}: ${f.ops} operations in ${f.seconds.toFixed(1)} s (${JSON.stringify(f.byKind)}), ${f.failed} failed, loop p99 ${f.loopP99Ms.toFixed(1)} ms${cpu}`,
      );
    }
  }
  for (const [, client] of clients) await client.close();
  return results;
}

const rate = (fs: RoundFigures[]) => fs.reduce((t, f) => t + f.ops / f.seconds, 0) / fs.length;
const worst = (fs: RoundFigures[]) => Math.max(...fs.map((f) => f.loopP99Ms));

try {
  const admin = await adminKey(ROOT, stores.data.databaseUrl!); // startDataStores runs PostgreSQL
  const keys: string[] = [];
  for (let i = 0; i < SESSIONS; i += 20)
    keys.push(
      ...(
        await Promise.all(
          Array.from({ length: Math.min(20, SESSIONS - i) }, (_, j) =>
            createUserKey(local.url, admin, i + j),
          ),
        )
      ).map((u) => u.key),
    );
  const models = (await fetch(`${local.url}/v1/models`, {
    headers: { authorization: `Bearer ${local.demoKey}` },
  }).then((r) => r.json())) as { data: { id: string }[] };
  const model = models.data[0]!.id;
  console.log(
    `npm start on ${stores.describe}; ${SESSIONS} sessions, rounds of ${ROUND_SECONDS} s, model ${model}`,
  );

  const results = await alternate(local.url, keys, model, ROUND_SECONDS);
  const threaded = new PlatformClient({ origin: local.url });

  // Streamed chats alone: the library (threads) and the openai SDK, 50 sessions each.
  const chatKeys = keys.slice(0, 50);
  const ours = chatKeys.map((k) => threaded.session(k));
  const sdks = chatKeys.map(
    (k) => new OpenAI({ apiKey: k, baseURL: `${local.url}/v1`, maxRetries: 3 }),
  );
  const messages = (seq: number) => [{ role: "user" as const, content: `tell me ${seq}` }];
  const library = await chatsOnly(
    chatKeys.length,
    async (i, seq) => (await ours[i]!.chat({ model, messages: messages(seq) })).content,
  );
  const openai = await chatsOnly(chatKeys.length, async (i, seq) => {
    let text = "";
    const stream = await sdks[i]!.chat.completions.create({
      model,
      messages: messages(seq),
      stream: true,
    });
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  });
  await threaded.close();

  // The client alone: the platform's answers replayed, the platform stopped.
  const recordings = await record(local.url, keys[0]!, model);
  await stopPlatform();
  // The machine settles first: 40 processes and two servers have just been stopped.
  await new Promise((ok) => setTimeout(ok, 10_000));
  const replay = await startReplay(recordings);
  console.log(`the client alone, against ${replay.origin} (recorded answers):`);
  let alone: Record<Mode, RoundFigures[]>;
  try {
    alone = await alternate(replay.origin, keys, model, ROUND_SECONDS / 2, replay.pid);
  } finally {
    replay.stop();
  }

  const t = rate(results.threads);
  const one = rate(results["one thread"]);
  const ta = rate(alone.threads);
  const onea = rate(alone["one thread"]);
  console.log("");
  printFigures([
    ["operations/s, threads", t.toFixed(1)],
    ["operations/s, one thread", one.toFixed(1)],
    ["ratio (target >= 1.5)", (t / one).toFixed(2)],
    ["caller's loop p99, threads (target < 10 ms)", `${worst(results.threads).toFixed(1)} ms`],
    ["caller's loop p99, one thread", `${worst(results["one thread"]).toFixed(1)} ms`],
    ["streamed chats/s, library", library.perSecond.toFixed(1)],
    ["streamed chats/s, openai SDK", openai.perSecond.toFixed(1)],
    ["ratio library/openai (target >= 1)", (library.perSecond / openai.perSecond).toFixed(2)],
    ["client alone: operations/s, threads", ta.toFixed(1)],
    ["client alone: operations/s, one thread", onea.toFixed(1)],
    ["client alone: ratio (target >= 1.5)", (ta / onea).toFixed(2)],
    ["client alone: loop p99, threads (target < 10 ms)", `${worst(alone.threads).toFixed(1)} ms`],
    ["client alone: loop p99, one thread", `${worst(alone["one thread"]).toFixed(1)} ms`],
  ]);
} finally {
  await stopPlatform();
  rmSync(work, { recursive: true, force: true });
}
