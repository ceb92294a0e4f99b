// The client library's threads against the same library on one thread (issue #20), side by
// side in one run, on `npm start` (real PostgreSQL and Redis, limits raised as in every load
// bench) with 200 sessions, each its own user and key, looping over a mix of streamed chats,
// reads, writes and 4 MiB uploads:
// - completed operations per second, threads / one thread (target >= 1.5x on two cores);
// - the caller's event-loop delay p99 in each mode (target < 10 ms with threads);
// then streamed chats alone, the library against the official `openai` client (no slower).
// The modes alternate (threads, one thread, threads, one thread) so drift on a shared machine
// falls on both. The platform runs on the same two cores as the client: see bench/README.md.
//
//   npm run bench:client   (about 6 minutes)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import OpenAI from "openai";
import { PlatformClient, type Session } from "../clients/platform-client/src/index.ts";
import { adminKey, createUserKey } from "../test/support/users.ts";
import { benchCatalog } from "./support/benchCatalog.ts";
import { startLocalRun } from "./support/localRun.ts";
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

  const threaded = new PlatformClient({ origin: local.url });
  const inline = new PlatformClient({ origin: local.url, threads: false });
  const results: Record<"threads" | "one thread", RoundFigures[]> = {
    threads: [],
    "one thread": [],
  };
  // A warm-up of each, not counted: threads to start, connections to open, code to compile.
  for (const client of [threaded, inline]) await round(client, keys.slice(0, 20), model, 5);
  for (let r = 0; r < 2; r++) {
    for (const [name, client] of [
      ["threads", threaded],
      ["one thread", inline],
    ] as const) {
      const f = await round(client, keys, model);
      results[name].push(f);
      console.log(
        `  ${name}: ${f.ops} operations in ${f.seconds.toFixed(1)} s (${JSON.stringify(f.byKind)}), ${f.failed} failed, loop p99 ${f.loopP99Ms.toFixed(1)} ms`,
      );
    }
  }

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
  await inline.close();

  const sum = (fs: RoundFigures[]) => fs.reduce((t, f) => t + f.ops / f.seconds, 0) / fs.length;
  const worst = (fs: RoundFigures[]) => Math.max(...fs.map((f) => f.loopP99Ms));
  const t = sum(results.threads);
  const one = sum(results["one thread"]);
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
  ]);
} finally {
  await local.stop();
  await stores.stop();
  rmSync(work, { recursive: true, force: true });
}
