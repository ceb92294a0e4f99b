import { randomUUID } from "node:crypto";
import { createDatabase } from "../../test/servers/index.ts";
import { readTopic, requireEnv } from "../../test/support/kafka.ts";
import { principal, serveApp, type ServedApp } from "../../test/support/serviceApp.ts";
import { kafkaBus, type EventBus, type PlatformEvent } from "../shared/events.ts";
import { relayOnce } from "../shared/outbox.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { checkAnswers } from "../shared/answerCheck.ts";
import { articlesApi } from "./api.ts";
import { articleRoutes } from "./app.ts";
import { ARTICLES_TOPIC, articleStore, migrations } from "./store.ts";

// The articles service on a real PostgreSQL (two "replicas" over one database, migrating at once)
// with its events relayed to a real Kafka: validation, idempotent creates, keyset pages,
// optimistic concurrency with ETag / If-Match, deletes, and the events of each change.

process.env["LOG_LEVEL"] ??= "silent";

let dbs: Db[];
let apps: ServedApp[];
let bus: EventBus;
const user = `writer-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  const url = await createDatabase("articlestest");
  const open = () =>
    openDb({ service: "articles", domain: "business", databaseUrl: url, dataDir: "" });
  dbs = await Promise.all([open(), open()]);
  await Promise.all(dbs.map((db) => migrate(db, "articles", migrations)));
  apps = await Promise.all(
    // Named apart, which no published service matches: each holds its answers to their schemas.
    dbs.map((db, i) =>
      serveApp(`articles-${i}`, (app, logger) => {
        checkAnswers(app, articlesApi, logger);
        articleRoutes(app, articleStore(db));
      }),
    ),
  );
  bus = kafkaBus(requireEnv("TEST_KAFKA_BROKERS"), "articles-test");
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all(dbs.map((db) => db.close()));
  await bus.close();
});

/** A request to replica `n` as the gateway would send it, for `who`. */
async function call(
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; who?: string; n?: number } = {},
) {
  const res = await fetch(`${apps[opts.n ?? 0]!.url}${path}`, {
    method,
    headers: {
      ...principal(opts.who ?? user),
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

const draft = { title: "On tides", body: "The sea rises twice a day.", tags: ["sea", "science"] };

test("create, read and list, with the version as the ETag", async () => {
  const created = await call("POST", "/v1/articles", { body: draft });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({
    object: "article",
    userId: user,
    ...draft,
    status: "draft",
    version: 1,
  });
  expect(created.json.id).toMatch(/^art_[0-9a-f]{24}$/);
  expect(created.headers.get("etag")).toBe('"1"');

  const read = await call("GET", `/v1/articles/${created.json.id}`, { n: 1 });
  expect(read.status).toBe(200);
  expect(read.json).toEqual(created.json);
  expect(read.headers.get("etag")).toBe('"1"');

  // Another user sees none of it.
  expect(
    (await call("GET", `/v1/articles/${created.json.id}`, { who: "someone-else" })).status,
  ).toBe(404);
});

test("malformed input is a 400 naming the field, never a 5xx", async () => {
  const cases: Array<[string, string, unknown, string]> = [
    ["POST", "/v1/articles", { ...draft, title: "" }, "title"],
    ["POST", "/v1/articles", { ...draft, tags: ["Not A Tag"] }, "tags.0"],
    ["POST", "/v1/articles", { ...draft, tags: ["a", "a"] }, "tags"],
    ["POST", "/v1/articles", { ...draft, status: "secret" }, "status"],
    ["POST", "/v1/articles", { ...draft, extra: 1 }, "body"],
    ["GET", "/v1/articles?limit=0", undefined, "limit"],
    ["GET", "/v1/articles?after=ord_000000000000000000000000", undefined, "after"],
    ["GET", "/v1/articles/not-an-id", undefined, "id"],
  ];
  for (const [method, path, body, param] of cases) {
    const res = await call(method, path, { body });
    expect({ path, body, status: res.status, param: res.json.error.param }).toEqual({
      path,
      body,
      status: 400,
      param,
    });
  }
  const badKey = await call("POST", "/v1/articles", {
    body: draft,
    headers: { "idempotency-key": "has spaces" },
  });
  expect(badKey.json.error).toMatchObject({ param: "Idempotency-Key" });
  const noPrincipal = await fetch(`${apps[0]!.url}/v1/articles`);
  expect(noPrincipal.status).toBe(401);
});

test("a create repeated under one Idempotency-Key, even at once on two replicas, makes one article", async () => {
  const key = `create-${randomUUID()}`;
  const headers = { "idempotency-key": key };
  const [a, b] = await Promise.all([
    call("POST", "/v1/articles", { body: draft, headers, n: 0 }),
    call("POST", "/v1/articles", { body: draft, headers, n: 1 }),
  ]);
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(a.json.id).toBe(b.json.id);
  const again = await call("POST", "/v1/articles", { body: draft, headers });
  expect(again.json.id).toBe(a.json.id);
  expect(again.headers.get("idempotent-replayed")).toBe("true");

  const other = await call("POST", "/v1/articles", { body: { ...draft, title: "x" }, headers });
  expect(other.status).toBe(409);
  expect(other.json.error.code).toBe("idempotency_key_reused");
});

test("pages are newest first and stable, with has_more", async () => {
  const who = `pager-${randomUUID().slice(0, 8)}`;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await call("POST", "/v1/articles", { body: { ...draft, title: `n${i}` }, who })).json.id,
    );
  }
  const first = await call("GET", "/v1/articles?limit=2", { who });
  expect(first.json).toMatchObject({ object: "list", has_more: true });
  const seen = first.json.data.map((a: { id: string }) => a.id);
  let after = seen.at(-1);
  for (;;) {
    const page = await call("GET", `/v1/articles?limit=2&after=${after}`, { who, n: 1 });
    seen.push(...page.json.data.map((a: { id: string }) => a.id));
    if (!page.json.has_more) break;
    after = seen.at(-1);
  }
  expect(seen).toEqual([...ids].reverse());
});

test("updates need the ETag read: a stale one is a 412, a missing one a 428", async () => {
  const { json: article } = await call("POST", "/v1/articles", { body: draft });
  const path = `/v1/articles/${article.id}`;

  const missing = await call("PATCH", path, { body: { title: "t" } });
  expect(missing.status).toBe(428);
  expect(missing.json.error).toMatchObject({ code: "precondition_required", param: "If-Match" });
  const malformed = await call("PATCH", path, {
    body: { title: "t" },
    headers: { "if-match": "1" },
  });
  expect(malformed.json.error).toMatchObject({ param: "If-Match" });
  expect(malformed.status).toBe(400);
  const empty = await call("PATCH", path, { body: {}, headers: { "if-match": '"1"' } });
  expect(empty.status).toBe(400);

  // Two writers read version 1 and update at once on two replicas: exactly one wins.
  const [a, b] = await Promise.all([
    call("PATCH", path, { body: { title: "A" }, headers: { "if-match": '"1"' }, n: 0 }),
    call("PATCH", path, { body: { title: "B" }, headers: { "if-match": '"1"' }, n: 1 }),
  ]);
  expect([a.status, b.status].sort()).toEqual([200, 412]);
  const winner = a.status === 200 ? a : b;
  const loser = a.status === 200 ? b : a;
  expect(winner.json).toMatchObject({ version: 2, body: draft.body });
  expect(winner.headers.get("etag")).toBe('"2"');
  expect(loser.json.error).toMatchObject({ code: "version_mismatch", param: "If-Match" });

  const published = await call("PATCH", path, {
    body: { status: "published", tags: ["sea"] },
    headers: { "if-match": 'W/"2"' },
  });
  expect(published.json).toMatchObject({ version: 3, status: "published", tags: ["sea"] });
  expect((await call("GET", path)).json).toEqual(published.json);

  const otherUser = await call("PATCH", path, {
    body: { title: "mine" },
    headers: { "if-match": '"3"' },
    who: "someone-else",
  });
  expect(otherUser.status).toBe(404);
});

test("delete: a stale If-Match keeps the article, then it is gone", async () => {
  const { json: article } = await call("POST", "/v1/articles", { body: draft });
  const path = `/v1/articles/${article.id}`;
  expect((await call("DELETE", path, { headers: { "if-match": '"7"' } })).status).toBe(412);
  expect((await call("DELETE", path, { headers: { "if-match": '"1"' } })).status).toBe(204);
  expect((await call("GET", path)).status).toBe(404);
  expect((await call("DELETE", path)).status).toBe(404);
});

test("every change reaches business.articles on Kafka through the outbox", async () => {
  const who = `events-${randomUUID().slice(0, 8)}`;
  const { json: article } = await call("POST", "/v1/articles", { body: draft, who });
  const path = `/v1/articles/${article.id}`;
  await call("PATCH", path, { body: { title: "t2" }, headers: { "if-match": '"1"' }, who });
  await call("DELETE", path, { who });
  // Both replicas relay side by side; SKIP LOCKED keeps them off each other's rows.
  await Promise.all(
    dbs.map(async (db) => {
      while ((await relayOnce(db, bus)) > 0);
    }),
  );

  const mine = (values: string[]) =>
    values
      .map((v) => JSON.parse(v) as PlatformEvent)
      .filter((e) => (e.data as { id?: string }).id === article.id);
  const values = await readTopic(
    requireEnv("TEST_KAFKA_BROKERS"),
    ARTICLES_TOPIC,
    (v) => mine(v).length >= 3,
  );
  const events = mine(values);
  expect(events.map((e) => e.type)).toEqual([
    "article.created",
    "article.updated",
    "article.deleted",
  ]);
  expect(new Set(events.map((e) => e.id)).size).toBe(3);
  expect(events[1]!.data).toMatchObject({ title: "t2", version: 2 });
  expect(events[2]!.data).toEqual({ id: article.id, userId: who, version: 2 });
});
