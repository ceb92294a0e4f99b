import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import { principal, serveApp, type ServedApp } from "../../test/support/serviceApp.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { modelRoutes } from "./app.ts";
import { BUILTIN_MODEL, LANGUAGE_MODEL, SourceConflict, migrations, modelStore } from "./store.ts";

// The model registry on a real PostgreSQL (its own schema) and on the embedded SQLite default:
// migrations and seeding safe with replicas starting at once, versions, aliases, selection.

process.env["LOG_LEVEL"] ??= "silent";

const dirs: string[] = [];
const dbs: Db[] = [];
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const engines: Array<[string, () => Promise<() => Promise<Db>>]> = [
  [
    "postgres",
    async () => {
      const url = await createDatabase("modeltest");
      return () => openDb({ service: "model", domain: "business", databaseUrl: url, dataDir: "" });
    },
  ],
  [
    "sqlite",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "modeltest-"));
      dirs.push(dir);
      return () => openDb({ service: "model", domain: "business", dataDir: dir });
    },
  ],
];

/** A user who owns no model: sees every model of the platform. */
const anyone = { userId: "user-1", admin: false };

describe.each(engines)("model registry on %s", (_engine, prepare) => {
  let open: () => Promise<Db>;
  /** Three "replicas" over one database, started at once. */
  let replicas: Db[];

  beforeAll(async () => {
    open = await prepare();
    replicas = await Promise.all([open(), open(), open()]);
    dbs.push(...replicas);
    await Promise.all(replicas.map((db) => migrate(db, "model", migrations)));
    await Promise.all(replicas.map((db) => modelStore(db).seed(["deepseek-chat"])));
  });

  test("replicas seeding at once leave one version of each built-in model and one upstream model", async () => {
    const rows = await replicas[0]!.query<{ name: string; version: number | string }>(
      "SELECT name, version FROM models ORDER BY name, version",
    );
    expect(rows.map((r) => `${r.name}:${Number(r.version)}`)).toEqual([
      `${BUILTIN_MODEL}:1`,
      `${LANGUAGE_MODEL.name}:1`,
      "upstream-deepseek-chat:1",
    ]);
  });

  test("an alias, a name and a name:version each select a concrete version", async () => {
    const models = modelStore(replicas[1]!);
    // Configuration sent deepseek-chat upstream; deepseek-reasoner stays on the language model.
    expect((await models.select("deepseek-chat", anyone))?.model).toMatchObject({
      id: "upstream-deepseek-chat:1",
      backend: "upstream",
      config: { model: "deepseek-chat" },
    });
    expect((await models.select("deepseek-reasoner", anyone))?.model).toMatchObject({
      id: "smollm2-135m:1",
      backend: "builtin",
      config: { gguf: "SmolLM2-135M-Instruct.Q4_1.gguf" },
      contextTokens: 2048,
    });
    await models.setAlias("stable", BUILTIN_MODEL);
    const { model: v2 } = await models.register({
      name: BUILTIN_MODEL,
      backend: "builtin",
      config: { corpus: "default" },
      contextTokens: 2048,
      maxOutputTokens: 256,
    });
    expect(v2.id).toBe("ngram-3:2");
    expect((await models.select("ngram-3", anyone))?.model.id).toBe("ngram-3:2");
    expect((await models.select("ngram-3:1", anyone))?.model.id).toBe("ngram-3:1");
    // An alias without a version follows the latest.
    expect((await models.select("stable", anyone))?.model.id).toBe("ngram-3:2");
    expect(await models.select("ngram-3:9", anyone)).toBeUndefined();
    expect(await models.select("gpt-5", anyone)).toBeUndefined();
  });

  test("a restart keeps an alias an operator moved, and registers nothing twice", async () => {
    const models = modelStore(replicas[2]!);
    await models.setAlias("deepseek-reasoner", BUILTIN_MODEL, 1);
    await models.seed(["deepseek-chat"]);
    expect((await models.select("deepseek-reasoner", anyone))?.model.id).toBe("ngram-3:1");
    expect((await models.list(anyone)).map((m) => m.id)).toEqual([
      "deepseek-chat",
      "deepseek-reasoner",
      "stable",
      "ngram-3:1",
      "ngram-3:2",
      "smollm2-135m:1",
      "upstream-deepseek-chat:1",
    ]);
  });

  test("versions registered at once from several replicas are numbered without a gap", async () => {
    const made = await Promise.all(
      replicas.map((db) =>
        modelStore(db).register({
          name: "trained",
          backend: "builtin",
          config: { corpus: "job-1" },
          contextTokens: 4096,
          maxOutputTokens: 512,
        }),
      ),
    );
    expect(made.map((m) => m.model.version).sort()).toEqual([1, 2, 3]);
  });

  test("a source registers one version, however many replicas register it at once", async () => {
    const job = (name = "tuned") => ({
      name,
      backend: "builtin" as const,
      config: { corpus: "job-7" },
      contextTokens: 4096,
      maxOutputTokens: 512,
      source: "training:job_7",
    });
    const made = await Promise.all(replicas.map((db) => modelStore(db).register(job())));
    expect(made.map((m) => m.model.id)).toEqual(["tuned:1", "tuned:1", "tuned:1"]);
    expect(made.filter((m) => m.created)).toHaveLength(1);
    // Another source adds the next version; the same source under another name is refused.
    const next = await modelStore(replicas[0]!).register({ ...job(), source: "training:job_8" });
    expect(next).toMatchObject({ model: { id: "tuned:2" }, created: true });
    await expect(modelStore(replicas[1]!).register(job("other"))).rejects.toThrow(SourceConflict);
    expect(await modelStore(replicas[1]!).find("other")).toBeUndefined();
  });
});

describe("the registry's internal API", () => {
  let served: ServedApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "modelapi-"));
    dirs.push(dir);
    const db = await openDb({ service: "model", domain: "business", dataDir: dir });
    dbs.push(db);
    await migrate(db, "model", migrations);
    const models = modelStore(db);
    await models.seed([]);
    served = await serveApp("model", (app) => modelRoutes(app, models));
  });
  afterAll(() => served?.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
  type Json = Record<string, any>;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${served.url}${path}`, {
      method,
      headers: {
        ...principal(),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  test("registering a model or moving an alias takes a call this stack signed (finding 8)", async () => {
    const unsigned = (method: string, path: string, body: unknown) =>
      fetch(`${served.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const register = { name: "ngram-3", backend: "builtin", config: { corpus: "default" } };
    expect((await unsigned("POST", "/internal/models", register)).status).toBe(401);
    const alias = { name: "ngram-3", version: 1 };
    expect((await unsigned("PUT", "/internal/aliases/hijacked", alias)).status).toBe(401);
    expect((await call("POST", "/internal/select", { model: "hijacked" })).status).toBe(404);
  });

  test("selects by alias, and answers an unknown model as OpenAI does (404, param model)", async () => {
    const hit = await call("POST", "/internal/select", { model: "deepseek-chat" });
    expect(hit.status).toBe(200);
    expect(hit.body).toMatchObject({ requested: "deepseek-chat", model: { id: "smollm2-135m:1" } });
    const miss = await call("POST", "/internal/select", { model: "nope" });
    expect(miss.status).toBe(404);
    expect(miss.body.error).toMatchObject({ code: "model_not_found", param: "model" });
  });

  test("registers a version, points an alias at it, and refuses an alias that hides a model", async () => {
    const made = await call("POST", "/internal/models", {
      name: "ngram-3",
      backend: "builtin",
      config: { corpus: "default" },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      id: "ngram-3:2",
      contextTokens: 4096,
      maxOutputTokens: 1024,
    });
    const moved = await call("PUT", "/internal/aliases/stable", { name: "ngram-3", version: 1 });
    expect(moved.status).toBe(200);
    expect((await call("POST", "/internal/select", { model: "stable" })).body.model.id).toBe(
      "ngram-3:1",
    );
    expect((await call("PUT", "/internal/aliases/x", { name: "missing" })).status).toBe(404);
    expect((await call("PUT", "/internal/aliases/ngram-3", { name: "ngram-3" })).status).toBe(409);
    const wrong = await call("POST", "/internal/models", {
      name: "up",
      backend: "upstream",
      config: { corpus: "default" },
    });
    expect(wrong.status).toBe(400);
  });

  test("a registration from a source it has seen answers 200 with the same version", async () => {
    const body = {
      name: "ft-api",
      backend: "builtin",
      config: { corpus: "x" },
      source: "training:job_1",
    };
    const first = await call("POST", "/internal/models", body);
    const again = await call("POST", "/internal/models", body);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
    const elsewhere = await call("POST", "/internal/models", { ...body, name: "ft-other" });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error).toMatchObject({ code: "source_conflict", param: "source" });
    const malformed = await call("POST", "/internal/models", { ...body, source: "job 1" });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ param: "source" });
  });

  test("lists aliases and versions in the OpenAI shape, a page at a time", async () => {
    const list = await call("GET", "/internal/models");
    expect(list.body.object).toBe("list");
    expect(list.body.data).toContainEqual({
      id: "deepseek-chat",
      object: "model",
      created: expect.any(Number),
      owned_by: "platform",
    });
    const all = (list.body.data as Json[]).map((m) => m["id"] as string);
    expect(all.length).toBeGreaterThan(3);
    expect(list.body).toMatchObject({ has_more: false, first_id: all[0], last_id: all.at(-1) });

    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await call("GET", `/internal/models?limit=2${after ? `&after=${after}` : ""}`);
      expect(page.status).toBe(200);
      const ids = (page.body.data as Json[]).map((m) => m["id"] as string);
      expect(ids.length).toBeLessThanOrEqual(2);
      expect([page.body.first_id, page.body.last_id]).toEqual([ids[0], ids.at(-1)]);
      seen.push(...ids);
      if (!page.body.has_more) break;
      after = page.body.last_id;
    }
    expect(seen).toEqual(all);

    for (const bad of ["limit=0", "limit=1001", "limit=two", "after=nope", "sort=asc"]) {
      const refused = await call("GET", `/internal/models?${bad}`);
      expect([bad, refused.status, refused.body.error.type]).toEqual([
        bad,
        400,
        "invalid_request_error",
      ]);
    }
  });
});
