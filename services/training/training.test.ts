import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import {
  principal,
  serveApp,
  type ServedApp,
  TEST_PRINCIPAL_SECRET,
} from "../../test/support/serviceApp.ts";
import { builtinBackend } from "../inference/builtin.ts";
import { TrainedModels } from "../inference/trained.ts";
import { modelRoutes } from "../model/app.ts";
import { migrations as modelMigrations, modelStore } from "../model/store.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { storageRoutes } from "../storage/app.ts";
import { diskBlobStore } from "../storage/blobs.ts";
import { StorageClient } from "../storage/client.ts";
import { fileStore, migrations as storageMigrations } from "../storage/store.ts";
import { trainingRoutes } from "./app.ts";
import { DEFAULT_JOB_LIMITS, type TrainingJob } from "./contract.ts";
import { jobStore, migrations, type JobStore } from "./store.ts";
import { ModelRegistry, startWorker } from "./worker.ts";

// The training service on a real PostgreSQL, with the storage service and the model registry
// over HTTP (each on PostgreSQL too) and two workers standing for two replicas: jobs queued and
// run once, the model file stored, a version registered that inference then answers from; and
// the queue itself: one claim per job under concurrency, and a dead worker's job taken again
// once its lease expired.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const dbs: Db[] = [];
const served: ServedApp[] = [];
const sets: ReplicaSet[] = [];
const stops: (() => Promise<void>)[] = [];
let dir: string;
let url: string;
let trainingUrl: string;
let storageUrl: string;
let modelUrl: string;
let storage: StorageClient;
let registry: ModelRegistry;
let models: ReturnType<typeof modelStore>;

async function open(service: string, dbUrl: string, m: readonly string[]): Promise<Db> {
  const db = await openDb({ service, domain: "business", databaseUrl: dbUrl, dataDir: "" });
  dbs.push(db);
  await migrate(db, service, m);
  return db;
}

beforeAll(async () => {
  url = await createDatabase("trainingtest");
  dir = mkdtempSync(join(tmpdir(), "trainingtest-"));
  const files = fileStore(await open("storage", url, storageMigrations), diskBlobStore(dir));
  const storageApp = await serveApp("storage", (app) =>
    storageRoutes(app, { files, maxFileBytes: 1 << 20, perUser: { files: 100, bytes: 1 << 26 } }),
  );
  models = modelStore(await open("model", url, modelMigrations));
  await models.seed([]);
  const modelApp = await serveApp("model", (app) => modelRoutes(app, models));
  served.push(storageApp, modelApp);
  storageUrl = storageApp.url;
  modelUrl = modelApp.url;
  const storageSet = new ReplicaSet("storage", [storageApp.url], {
    signWith: TEST_PRINCIPAL_SECRET,
  });
  const modelSet = new ReplicaSet("model", [modelApp.url], { signWith: TEST_PRINCIPAL_SECRET });
  sets.push(storageSet, modelSet);
  storage = new StorageClient(storageSet);
  registry = new ModelRegistry(modelSet);

  // Two replicas: each its own connection and worker; the HTTP API on the first.
  const replicas = [
    jobStore(await open("training", url, migrations)),
    jobStore(await open("training", url, migrations)),
  ];
  const workers = replicas.map((jobs, i) =>
    startWorker({
      jobs,
      storage,
      registry,
      logger: served[0]!.logger.child({ worker: i }),
      leaseMs: 30_000,
      pollMs: 20,
      maxAttempts: 3,
    }),
  );
  stops.push(...workers.map((w) => w.stop));
  const trainingApp = await serveApp("training", (app) =>
    trainingRoutes(app, {
      jobs: replicas[0]!,
      storage,
      registry,
      wake: workers[0]!.wake,
      perUser: DEFAULT_JOB_LIMITS,
    }),
  );
  served.push(trainingApp);
  trainingUrl = trainingApp.url;
});

afterAll(async () => {
  await Promise.all(stops.map((s) => s()));
  await Promise.all(served.map((s) => s.close()));
  await Promise.all(sets.map((s) => s.close()));
  await Promise.all(dbs.map((db) => db.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function submit(body: unknown, user = "user-1", headers: Record<string, string> = {}) {
  const res = await fetch(`${trainingUrl}/v1/training/jobs`, {
    method: "POST",
    headers: { ...principal(user), "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

async function job(id: string, user = "user-1"): Promise<TrainingJob> {
  const res = await fetch(`${trainingUrl}/v1/training/jobs/${id}`, { headers: principal(user) });
  return (await res.json()) as TrainingJob;
}

/** Polls until the job has ended (jest's timeout bounds the wait). */
async function finished(id: string, user = "user-1"): Promise<TrainingJob> {
  for (;;) {
    const j = await job(id, user);
    if (j.status === "succeeded" || j.status === "failed") return j;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lighthouse =
  "The lighthouse keeper counts seven gulls at dawn.\n" +
  "The gulls circle the lighthouse twice before noon.\n" +
  "Seven gulls mean a calm sea for the fishing boats.\n";

async function answerFrom(modelName: string, prompt: string): Promise<string> {
  const selected = (await models.select(modelName, { userId: "user-1", admin: false }))!.model;
  const backend = builtinBackend(new Map(), new TrainedModels((id) => storage.content(id), 4));
  const gen = await backend.start(
    {
      model: selected,
      messages: [{ role: "user", content: prompt }],
      temperature: 0,
      topP: 1,
      maxTokens: 20,
    },
    new AbortController().signal,
  );
  let text = "";
  for await (const piece of gen.pieces) text += piece;
  return text;
}

test("an inline corpus is trained, stored and registered; the new version answers from it", async () => {
  const queued = await submit({ suffix: "lighthouse", corpus: { text: lighthouse } });
  expect(queued.status).toBe(202);
  expect(queued.json).toMatchObject({
    object: "training.job",
    suffix: "lighthouse",
    model: null,
    corpus: { inline_bytes: Buffer.byteLength(lighthouse) },
    hyperparameters: { min_count: 1, max_output_tokens: 256, context_tokens: 4096 },
  });
  expect(queued.headers.get("location")).toBe(`/v1/training/jobs/${queued.json["id"]}`);

  const done = await finished(queued.json["id"]);
  expect(done).toMatchObject({
    status: "succeeded",
    model: "ft-lighthouse:1",
    trained: { sentences: 3 },
    error: null,
    attempts: 1,
  });
  // The model file belongs to the job's owner and is what the registry points at.
  const file = (await storage.info(done.result_file!))!;
  expect(file).toMatchObject({ user_id: "user-1", purpose: "model" });
  const version = (await models.select("ft-lighthouse", { userId: "user-1", admin: false }))!.model;
  expect(version).toMatchObject({
    id: "ft-lighthouse:1",
    backend: "builtin",
    config: { file: file.id, sha256: file.sha256 },
    maxOutputTokens: 256,
  });
  expect(await answerFrom("ft-lighthouse", "How many gulls?")).toBe(
    "The gulls circle the lighthouse keeper counts seven gulls at dawn.",
  );
  // Other users do not see the job.
  expect(
    (await fetch(`${trainingUrl}/v1/training/jobs/${done.id}`, { headers: principal("user-2") }))
      .status,
  ).toBe(404);
});

test("a trained model is its owner's: another user cannot select it nor see it listed", async () => {
  // ft-lighthouse is user-1's (the test above); the registry is asked as chat asks it, with the
  // caller's principal as the gateway signed it.
  const select = async (headers: Record<string, string>, model: string) => {
    const res = await fetch(`${modelUrl}/internal/select`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ model }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const listed = async (headers: Record<string, string>) => {
    const res = await fetch(`${modelUrl}/internal/models?limit=1000`, { headers });
    return ((await res.json()) as Json)["data"].map((m: Json) => m["id"]) as string[];
  };
  for (const model of ["ft-lighthouse", "ft-lighthouse:1"]) {
    const refused = await select(principal("user-2"), model);
    expect([model, refused.status]).toEqual([model, 404]);
    expect(refused.body.error).toMatchObject({ code: "model_not_found", param: "model" });
    // The same answer as for a name nobody registered.
    expect(refused.body.error.message).toBe(
      (await select(principal("user-2"), "ft-nobody")).body.error.message.replace(
        "ft-nobody",
        model,
      ),
    );
    expect((await select(principal("user-1"), model)).status).toBe(200);
    expect((await select(principal("root", { scopes: ["admin"] }), model)).status).toBe(200);
  }
  expect(await listed(principal("user-2"))).not.toContain("ft-lighthouse:1");
  expect(await listed(principal("user-2"))).toContain("deepseek-chat");
  expect(await listed(principal("user-1"))).toContain("ft-lighthouse:1");
  expect(await listed(principal("root", { scopes: ["admin"] }))).toContain("ft-lighthouse:1");
  const one = await fetch(`${modelUrl}/internal/models/ft-lighthouse:1`, {
    headers: principal("user-2"),
  });
  expect(one.status).toBe(404);
});

test("a user has at most so many jobs waiting, and so many in all", async () => {
  // A training service of its own, with no worker: its jobs stay queued.
  const jobs = jobStore(await open("training", await createDatabase("trainingcaps"), migrations));
  const capped = await serveApp("training", (app) =>
    trainingRoutes(app, {
      jobs,
      storage,
      registry,
      wake: () => undefined,
      perUser: { pending: 2, total: 3 },
    }),
  );
  served.push(capped);
  const queue = (user: string, suffix: string) =>
    fetch(`${capped.url}/v1/training/jobs`, {
      method: "POST",
      headers: { ...principal(user), "content-type": "application/json" },
      body: JSON.stringify({ suffix, corpus: { text: lighthouse } }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json }));
  expect((await queue("eager", "capped-a")).status).toBe(202);
  expect((await queue("eager", "capped-a")).status).toBe(202);
  const waiting = await queue("eager", "capped-a");
  expect(waiting.status).toBe(403);
  expect(waiting.body["error"]).toMatchObject({
    type: "permission_error",
    code: "training_limit_reached",
    message: expect.stringContaining("queued or running"),
  });
  expect((await queue("calm", "capped-b")).status).toBe(202);

  // Finished jobs still count toward the total: each keeps a model file and a version.
  await jobs.claim(60_000).then((j) => jobs.fail(j!, { code: "test", message: "stopped" }));
  expect((await queue("eager", "capped-a")).status).toBe(202);
  await jobs.claim(60_000).then((j) => jobs.fail(j!, { code: "test", message: "stopped" }));
  const spent = await queue("eager", "capped-a");
  expect([spent.status, spent.body["error"]["message"]]).toEqual([
    403,
    expect.stringContaining("3 training jobs"),
  ]);
});

test("a corpus uploaded to storage trains the next version of the same model", async () => {
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", new Blob(["The lighthouse sleeps under the winter stars.\n"]), "c.txt");
  const up = (await (
    await fetch(`${storageUrl}/v1/files`, { method: "POST", headers: principal(), body: form })
  ).json()) as Json;
  const queued = await submit({
    suffix: "lighthouse",
    corpus: { file_id: up["id"] },
    hyperparameters: { min_count: 1, max_output_tokens: 64, context_tokens: 1024 },
  });
  expect(queued.status).toBe(202);
  const done = await finished(queued.json["id"]);
  expect(done).toMatchObject({
    status: "succeeded",
    model: "ft-lighthouse:2",
    corpus: { file_id: up["id"] },
  });
  expect(await answerFrom("ft-lighthouse", "Tell me about the winter")).toBe("The winter stars.");
  expect(await answerFrom("ft-lighthouse:1", "How many gulls?")).toMatch(
    /^The gulls circle the lighthouse/,
  );
  const list = (await (
    await fetch(`${trainingUrl}/v1/training/jobs?limit=1`, { headers: principal() })
  ).json()) as Json;
  expect(list["data"].map((j: Json) => j["id"])).toEqual([done.id]);
  expect(list["has_more"]).toBe(true);
});

test("a job made with register: false keeps its model unregistered until asked; evaluations score it", async () => {
  const queued = await submit({ suffix: "held", corpus: { text: lighthouse }, register: false });
  const done = await finished(queued.json["id"]);
  expect([done.status, done.model, done.register]).toEqual(["succeeded", null, false]);
  expect(await models.select("ft-held", { userId: "user-1", admin: false })).toBeUndefined();

  const evaluate = async (text: string, user = "user-1") => {
    const res = await fetch(`${trainingUrl}/v1/training/jobs/${done.id}/evaluations`, {
      method: "POST",
      headers: { ...principal(user), "content-type": "application/json" },
      body: JSON.stringify({ text }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const near = await evaluate("The gulls circle the lighthouse at dawn.");
  const far = await evaluate("Quantum chromodynamics binds quarks with gluons.");
  expect(near.json).toMatchObject({ object: "training.evaluation", job: done.id, model: null });
  expect(near.json["tokens"]).toBe(9);
  // Text like the corpus costs fewer bits per token than text the model never saw.
  expect(near.json["cross_entropy_bits"]).toBeLessThan(far.json["cross_entropy_bits"]);
  expect(near.json["perplexity"]).toBeCloseTo(2 ** near.json["cross_entropy_bits"], 1);
  expect((await evaluate("   ")).json["error"]["param"]).toBe("text");
  expect((await evaluate("The gulls.", "user-2")).status).toBe(404);

  const register = () =>
    fetch(`${trainingUrl}/v1/training/jobs/${done.id}/register`, {
      method: "POST",
      headers: principal("user-1"),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Json }));
  const first = await register();
  expect([first.status, first.json["model"]]).toEqual([200, "ft-held:1"]);
  // A repeat registers nothing more.
  expect((await register()).json["model"]).toBe("ft-held:1");
  expect((await models.select("ft-held", { userId: "user-1", admin: false }))!.model.id).toBe(
    "ft-held:1",
  );
});

test("a corpus with no sentence fails the job, with the reason", async () => {
  const queued = await submit({ suffix: "empty", corpus: { text: " \n \n" } });
  const done = await finished(queued.json["id"]);
  expect(done).toMatchObject({ status: "failed", model: null, error: { code: "invalid_corpus" } });
});

test("a repeat under the same Idempotency-Key answers the first job", async () => {
  const body = { suffix: "again", corpus: { text: lighthouse } };
  const first = await submit(body, "user-1", { "idempotency-key": "train-1" });
  const second = await submit(body, "user-1", { "idempotency-key": "train-1" });
  expect(second.status).toBe(202);
  expect(second.headers.get("idempotent-replayed")).toBe("true");
  expect(second.json["id"]).toBe(first.json["id"]);
  const other = await submit({ ...body, suffix: "other" }, "user-1", {
    "idempotency-key": "train-1",
  });
  expect(other.status).toBe(409);
});

test.each([
  ["no suffix", { corpus: { text: "A b." } }, 400, "suffix"],
  ["a suffix with capitals", { suffix: "Big", corpus: { text: "A b." } }, 400, "suffix"],
  ["no corpus", { suffix: "x" }, 400, "corpus"],
  [
    "a corpus over the inline cap",
    { suffix: "x", corpus: { text: "a".repeat(300_000) } },
    400,
    "corpus.text",
  ],
  [
    "min_count 0",
    { suffix: "x", corpus: { text: "A b." }, hyperparameters: { min_count: 0 } },
    400,
    "hyperparameters.min_count",
  ],
  [
    "an unknown hyper-parameter",
    { suffix: "x", corpus: { text: "A b." }, hyperparameters: { n_epochs: 3 } },
    400,
    "hyperparameters",
  ],
  ["a file id that is not one", { suffix: "x", corpus: { file_id: "abc" } }, 400, "corpus.file_id"],
  [
    "a file that does not exist",
    { suffix: "x", corpus: { file_id: "file_000000000000000000000000" } },
    404,
    "corpus.file_id",
  ],
])("a job with %s is refused, naming the field", async (_what, body, status, param) => {
  const res = await submit(body);
  expect(res.status).toBe(status);
  expect(res.json["error"]).toMatchObject({ param });
});

test("a corpus must be the caller's own training file, and a model name its owner's", async () => {
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", new Blob(["Mine alone."]), "c.txt");
  const up = (await (
    await fetch(`${storageUrl}/v1/files`, {
      method: "POST",
      headers: principal("owner"),
      body: form,
    })
  ).json()) as Json;
  const stolen = await submit({ suffix: "thief", corpus: { file_id: up["id"] } }, "thief");
  expect(stolen.status).toBe(404);
  const modelJob = await submit({ suffix: "x", corpus: { text: "A b." } });
  const done = await finished(modelJob.json["id"]);
  const notCorpus = await submit({ suffix: "y", corpus: { file_id: done.result_file } });
  expect(notCorpus.status).toBe(400);
  expect(notCorpus.json["error"]).toMatchObject({ code: "invalid_file_purpose" });
  // ft-lighthouse is user-1's model: another user cannot add versions to it.
  const taken = await submit({ suffix: "lighthouse", corpus: { text: "Mine." } }, "user-2");
  expect(taken.status).toBe(409);
  expect(taken.json["error"]).toMatchObject({ code: "model_name_taken", param: "suffix" });
});

describe("the job queue", () => {
  let a: JobStore;
  let b: JobStore;
  let queueDb: Db;
  beforeAll(async () => {
    // A database of its own: the workers above must not take these jobs.
    const own = await createDatabase("trainingqueue");
    queueDb = await open("training", own, migrations);
    a = jobStore(queueDb);
    b = jobStore(await open("training", own, migrations));
  });

  const input = (suffix: string) => ({
    suffix,
    corpus: { text: lighthouse },
    register: true,
    hyperparameters: { min_count: 1, max_output_tokens: 16, context_tokens: 1024 },
  });

  test("replicas claiming at once take each job exactly once", async () => {
    for (let i = 0; i < 10; i++) await a.create("u", input(`q${i}`));
    const claims = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).claim(30_000)),
    );
    const ids = claims.filter((c) => c !== undefined).map((c) => c.id);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  test("a dead worker's job is taken again once its lease expired, and the dead worker's writes are refused", async () => {
    // A worker whose clock says an hour ago: its lease is long expired by now.
    const past = jobStore(queueDb, () => Date.now() - 3_600_000);
    await past.create("u", input("lease"));
    const dead = (await past.claim(60_000))!;
    expect(dead).toBeDefined();
    // Another replica finds it, once the ten running ones above are done with (they hold 30 s leases).
    const taken = (await b.claim(30_000))!;
    expect(taken.id).toBe(dead.id);
    expect(taken.attempts).toBe(2);
    expect(await a.claim(30_000)).toBeUndefined();
    // The dead worker wakes up: its writes change nothing.
    expect(await past.renew(dead, 60_000)).toBe(false);
    expect(await past.succeed(dead, { sentences: 1, vocabulary: 1 })).toBe(false);
    expect(await b.succeed(taken, { sentences: 3, vocabulary: 20 })).toBe(true);
    expect((await b.get("u", dead.id))!.status).toBe("succeeded");
  });
});
