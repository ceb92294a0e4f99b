import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "../../test/servers/index.ts";
import {
  principal,
  serveApp,
  type ServedApp,
  TEST_PRINCIPAL_SECRET,
  stackCall,
} from "../../test/support/serviceApp.ts";
import { openDb, type Db } from "../shared/sql/db.ts";
import { migrate } from "../shared/sql/migrate.ts";
import { ReplicaSet } from "../shared/upstream.ts";
import { storageRoutes } from "./app.ts";
import { diskBlobStore } from "./blobs.ts";
import { StorageClient } from "./client.ts";
import { s3BlobStore } from "./s3.ts";
import { fileStore, migrations } from "./store.ts";

// The storage service on a real PostgreSQL (its own schema) with blobs on the local disk: the
// OpenAI-shaped files API, owners, validation, the internal API its callers use, and the disk
// store's atomic writes. The S3 store runs against a plain HTTP endpoint that records what the
// AWS SDK sends (no S3-compatible server is installed here): it proves the requests (signed,
// encrypted, checksummed) and the round trip, not S3's own behaviour.

process.env["LOG_LEVEL"] ??= "silent";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
type Json = Record<string, any>;

const MAX = 4096;
/** What one user may keep here: small, so that a test reaches it. */
const LIMITS = { files: 25, bytes: 3 * MAX };
let db: Db;
let dir: string;
let served: ServedApp;
let set: ReplicaSet;

beforeAll(async () => {
  const url = await createDatabase("storagetest");
  db = await openDb({ service: "storage", domain: "business", databaseUrl: url, dataDir: "" });
  await migrate(db, "storage", migrations);
  dir = mkdtempSync(join(tmpdir(), "storagetest-"));
  const files = fileStore(db, diskBlobStore(join(dir, "blobs")));
  served = await serveApp("storage", (app) =>
    storageRoutes(app, { files, maxFileBytes: MAX, perUser: LIMITS }),
  );
  set = new ReplicaSet("storage", [served.url], { signWith: TEST_PRINCIPAL_SECRET });
});

afterAll(async () => {
  await set.close();
  await served.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

function form(parts: Record<string, string | Blob>, name = "corpus.txt"): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(parts)) {
    if (v instanceof Blob) f.append(k, v, name);
    else f.append(k, v);
  }
  return f;
}

async function upload(body: FormData | string, user = "user-1", type?: string) {
  const res = await fetch(`${served.url}/v1/files`, {
    method: "POST",
    headers: { ...principal(user), ...(type ? { "content-type": type } : {}) },
    body,
  });
  return { status: res.status, json: (await res.json()) as Json };
}

const text = "The lighthouse keeper counts the gulls.\nThe gulls count the boats.\n";

test("a corpus uploaded as OpenAI's files API takes it comes back whole, to its owner only", async () => {
  const up = await upload(
    form({ purpose: "fine-tune", file: new Blob([text], { type: "text/plain" }) }),
  );
  expect(up.status).toBe(200);
  expect(up.json).toMatchObject({
    object: "file",
    purpose: "fine-tune",
    filename: "corpus.txt",
    bytes: Buffer.byteLength(text),
    sha256: createHash("sha256").update(text).digest("hex"),
  });
  expect(up.json["user_id"]).toBeUndefined();
  const id = up.json["id"] as string;
  expect(id).toMatch(/^file_[0-9a-f]{24}$/);

  const get = (path: string, user = "user-1") =>
    fetch(`${served.url}${path}`, { headers: principal(user) });
  expect(await (await get(`/v1/files/${id}`)).json()).toEqual(up.json);
  const content = await get(`/v1/files/${id}/content`);
  expect(content.headers.get("content-type")).toMatch(/^text\/plain/);
  expect(await content.text()).toBe(text);
  const list = (await (await get("/v1/files?purpose=fine-tune")).json()) as Json;
  expect(list).toMatchObject({ object: "list", has_more: false });
  expect(list["data"].map((f: Json) => f["id"])).toEqual([id]);

  // Another user sees nothing of it.
  expect((await get(`/v1/files/${id}`, "user-2")).status).toBe(404);
  expect((await get(`/v1/files/${id}/content`, "user-2")).status).toBe(404);
  expect(((await (await get("/v1/files", "user-2")).json()) as Json)["data"]).toEqual([]);
  const stranger = await fetch(`${served.url}/v1/files/${id}`, {
    method: "DELETE",
    headers: principal("user-2"),
  });
  expect(stranger.status).toBe(404);

  const del = await fetch(`${served.url}/v1/files/${id}`, {
    method: "DELETE",
    headers: principal("user-1"),
  });
  expect(await del.json()).toEqual({ id, object: "file", deleted: true });
  expect((await get(`/v1/files/${id}`)).status).toBe(404);
  expect(readdirSync(join(dir, "blobs")).filter((f) => f !== ".tmp")).not.toContain(id);
});

test("a picture (purpose vision) is stored with the type its first bytes show", async () => {
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from("rest of the picture"),
  ]);
  const up = await upload(
    form(
      { purpose: "vision", file: new Blob([png], { type: "application/octet-stream" }) },
      "bees.png",
    ),
  );
  expect(up.status).toBe(200);
  expect(up.json).toMatchObject({
    purpose: "vision",
    content_type: "image/png",
    bytes: png.length,
  });
  const content = await fetch(`${served.url}/v1/files/${up.json["id"]}/content`, {
    headers: principal("user-1"),
  });
  expect(content.headers.get("content-type")).toBe("image/png");
  expect(Buffer.from(await content.arrayBuffer()).equals(png)).toBe(true);
});

test("list pages newest first", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const up = await upload(
      form({ purpose: "fine-tune", file: new Blob([`Line ${i}.`]) }),
      "pager",
    );
    ids.push(up.json["id"]);
  }
  const page = async (q: string) =>
    (await (
      await fetch(`${served.url}/v1/files${q}`, { headers: principal("pager") })
    ).json()) as Json;
  const first = await page("?limit=2");
  expect(first["data"].map((f: Json) => f["id"])).toEqual([ids[2], ids[1]]);
  expect(first["has_more"]).toBe(true);
  const second = await page(`?limit=2&after=${ids[1]}`);
  expect(second["data"].map((f: Json) => f["id"])).toEqual([ids[0]]);
  expect(second["has_more"]).toBe(false);
});

test.each([
  ["no purpose", () => form({ file: new Blob([text]) }), 400, "purpose"],
  ["an unknown purpose", () => form({ purpose: "batch", file: new Blob([text]) }), 400, "purpose"],
  [
    "a vision file that is no picture",
    () => form({ purpose: "vision", file: new Blob([text], { type: "image/png" }) }),
    400,
    "file",
  ],
  [
    "a vision file declared as text",
    () => form({ purpose: "vision", file: new Blob([text], { type: "text/plain" }) }),
    415,
    "file",
  ],
  // Model files come from training only.
  ["purpose model", () => form({ purpose: "model", file: new Blob([text]) }), 400, "purpose"],
  ["no file", () => form({ purpose: "fine-tune" }), 400, "file"],
  [
    "a file that is text in name only",
    () => form({ purpose: "fine-tune", file: new Blob([Buffer.from([0xff, 0xfe, 0x00, 0x41])]) }),
    400,
    "file",
  ],
  [
    "a text with NUL",
    () => form({ purpose: "fine-tune", file: new Blob(["a\u0000b"]) }),
    400,
    "file",
  ],
  [
    "an image",
    () => form({ purpose: "fine-tune", file: new Blob([text], { type: "image/png" }) }),
    415,
    "file",
  ],
  ["an empty file", () => form({ purpose: "fine-tune", file: new Blob([]) }), 400, "file"],
  [
    "a file over the cap",
    () => form({ purpose: "fine-tune", file: new Blob(["x".repeat(MAX + 1)]) }),
    413,
    "file",
  ],
  [
    "an unknown field",
    () => form({ purpose: "fine-tune", file: new Blob([text]), extra: "1" }),
    400,
    "extra",
  ],
])(
  "an upload with %s is refused with a JSON error naming the field",
  async (_what, body, status, param) => {
    const res = await upload(body());
    expect(res.status).toBe(status);
    expect(res.json["error"]).toMatchObject({ param });
  },
);

test("a body that is not a multipart form, or too large for one, is refused", async () => {
  expect((await upload(text, "user-1", "text/plain")).status).toBe(415);
  expect(
    (await upload("--x\r\nbroken", "user-1", "multipart/form-data; boundary=x")).json["error"],
  ).toMatchObject({ code: "invalid_multipart" });
  const huge = await upload(form({ purpose: "fine-tune", file: new Blob(["x".repeat(200_000)]) }));
  expect(huge.status).toBe(413);
  const badId = await fetch(`${served.url}/v1/files/nope`, { headers: principal() });
  expect(badId.status).toBe(400);
  expect(((await badId.json()) as Json)["error"]).toMatchObject({ param: "file_id" });
  const anonymous = await fetch(`${served.url}/v1/files`);
  expect(anonymous.status).toBe(401);
});

test("the internal API stores a model file for a user and serves it to the services that call it", async () => {
  const client = new StorageClient(set);
  const data = Buffer.from(JSON.stringify({ format: "test" }));
  const file = await client.upload({
    userId: "user-9",
    purpose: "model",
    filename: "model.json",
    contentType: "application/json",
    data,
  });
  expect(file).toMatchObject({ user_id: "user-9", purpose: "model", bytes: data.length });
  expect(await client.info(file.id)).toEqual(file);
  expect(await client.content(file.id)).toEqual(data);
  expect(await client.info("file_000000000000000000000000")).toBeUndefined();
  expect(await client.content("file_000000000000000000000000")).toBeUndefined();
  // Its owner sees it through the public API too.
  const mine = await fetch(`${served.url}/v1/files/${file.id}/content`, {
    headers: principal("user-9"),
  });
  expect(await mine.text()).toBe(data.toString());
  const bad = await fetch(`${served.url}/internal/files?user_id=u&purpose=x&filename=a`, {
    method: "POST",
    headers: { "content-type": "application/json", ...stackCall() },
    body: "{}",
  });
  expect(bad.status).toBe(400);
});

test("content damaged at rest is a 500, never served", async () => {
  const up = await upload(form({ purpose: "fine-tune", file: new Blob([text]) }), "damaged");
  const id = up.json["id"] as string;
  writeFileSync(join(dir, "blobs", id), "The gulls were never counted.\n");
  const res = await fetch(`${served.url}/v1/files/${id}/content`, {
    headers: principal("damaged"),
  });
  expect(res.status).toBe(500);
  expect(((await res.json()) as Json)["error"]).toMatchObject({ code: "file_content_damaged" });
});

test("the disk store writes whole blobs: concurrent writers of one key leave one of them, no temp file", async () => {
  const root = join(dir, "atomic");
  const blobs = diskBlobStore(root);
  const a = Buffer.alloc(1 << 20, "a");
  const b = Buffer.alloc(1 << 20, "b");
  const meta = { contentType: "application/octet-stream", sha256: "" };
  await Promise.all([blobs.put("k", a, meta), blobs.put("k", b, meta), blobs.put("k", a, meta)]);
  const got = await blobs.get("k");
  expect([a.toString(), b.toString()]).toContain(got!.toString());
  expect(readdirSync(join(root, ".tmp"))).toEqual([]);
  await blobs.delete("k");
  await blobs.delete("k");
  expect(await blobs.get("k")).toBeUndefined();
  await expect(blobs.put("../escape", a, meta)).rejects.toThrow(/not a plain id/);
});

describe("the S3 store", () => {
  interface Seen {
    method: string;
    url: string;
    headers: IncomingMessage["headers"];
    body: Buffer;
  }
  const seen: Seen[] = [];
  const objects = new Map<string, Buffer>();
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    // Path-style: /<bucket>/<key>. Answers as S3 does for the three calls the store makes.
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const path = new URL(req.url!, "http://x").pathname;
      seen.push({ method: req.method!, url: path, headers: req.headers, body });
      if (req.method === "PUT") {
        objects.set(path, body);
        res.writeHead(200, { etag: '"1"' }).end();
      } else if (req.method === "GET") {
        const data = objects.get(path);
        if (!data) {
          res
            .writeHead(404, { "content-type": "application/xml" })
            .end("<Error><Code>NoSuchKey</Code><Message>none</Message></Error>");
        } else res.writeHead(200, { "content-length": data.length }).end(data);
      } else if (req.method === "DELETE") {
        objects.delete(path);
        res.writeHead(204).end();
      } else res.writeHead(405).end();
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

  test("puts signed, KMS-encrypted, checksummed objects and reads them back", async () => {
    const blobs = s3BlobStore({
      bucket: "platform-storage",
      kmsKeyId: "arn:aws:kms:eu-west-1:123:key/k",
      region: "eu-west-1",
      endpoint,
      credentials,
    });
    const data = Buffer.from("a model file");
    const sha256 = createHash("sha256").update(data).digest("hex");
    await blobs.put("file_1", data, { contentType: "application/json", sha256 });
    const put = seen.find((s) => s.method === "PUT")!;
    expect(put.url).toBe("/platform-storage/files/file_1");
    expect(put.headers["x-amz-server-side-encryption"]).toBe("aws:kms");
    expect(put.headers["x-amz-server-side-encryption-aws-kms-key-id"]).toBe(
      "arn:aws:kms:eu-west-1:123:key/k",
    );
    expect(put.headers["x-amz-checksum-sha256"]).toBe(
      Buffer.from(sha256, "hex").toString("base64"),
    );
    expect(put.headers["authorization"]).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/s3\/aws4_request/,
    );
    expect(put.headers["content-type"]).toBe("application/json");
    expect(put.body).toEqual(data);

    expect(await blobs.get("file_1")).toEqual(data);
    expect(await blobs.get("file_2")).toBeUndefined();
    await blobs.delete("file_1");
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", url: "/platform-storage/files/file_1" });
    expect(await blobs.get("file_1")).toBeUndefined();
  });

  test("without a KMS key it asks for S3's own encryption", async () => {
    const blobs = s3BlobStore({ bucket: "b", endpoint, credentials });
    await blobs.put("file_3", Buffer.from("x"), {
      contentType: "text/plain",
      sha256: createHash("sha256").update("x").digest("hex"),
    });
    expect(seen.at(-1)!.headers["x-amz-server-side-encryption"]).toBe("AES256");
  });
});

test("a user keeps a bounded number of files and bytes; deleting one makes room", async () => {
  const one = form({ purpose: "fine-tune", file: new Blob(["The gulls.\n"]) });
  const kept: string[] = [];
  for (let i = 0; i < LIMITS.files; i++) {
    const res = await upload(one, "hoarder");
    expect([i, res.status]).toEqual([i, 200]);
    kept.push(res.json["id"]);
  }
  const refused = await upload(one, "hoarder");
  expect(refused.status).toBe(403);
  expect(refused.json["error"]).toMatchObject({
    type: "permission_error",
    code: "storage_limit_reached",
    message: expect.any(String),
  });
  // Another user is not affected; the hoarder gets room back by deleting.
  expect((await upload(one, "neighbour")).status).toBe(200);
  await fetch(`${served.url}/v1/files/${kept[0]}`, {
    method: "DELETE",
    headers: principal("hoarder"),
  });
  expect((await upload(one, "hoarder")).status).toBe(200);

  const big = form({ purpose: "fine-tune", file: new Blob(["gull ".repeat(MAX / 5 - 1) + "\n"]) });
  for (let i = 0; i < 3; i++) expect((await upload(big, "heavy")).status).toBe(200);
  const over = await upload(big, "heavy");
  expect([over.status, over.json["error"]["code"]]).toEqual([403, "storage_limit_reached"]);
});
