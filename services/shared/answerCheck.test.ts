import express from "express";
import { createServer } from "node:http";
import { z } from "zod";
import { listenOnLoopback } from "../../test/support/serviceApp.ts";
import { checkAnswers } from "./answerCheck.ts";
import { createLogger } from "./logger.ts";
import { operations } from "./operation.ts";

// An answer that strays from its published schema fails the test that caused it: the check
// turns it into a 500 naming the field, and leaves errors and unchecked routes alone.

process.env["LOG_LEVEL"] ??= "silent";

const thing = z.object({ id: z.string(), count: z.number().int() }).strict();
const ops = operations([
  { id: "getThing", method: "get", path: "/v1/things/:id", summary: "", success: { json: thing } },
  { id: "listThings", method: "get", path: "/v1/things", summary: "" },
]);

const closers: Array<() => Promise<void> | void> = [];
let url: string;
beforeAll(async () => {
  const app = express();
  checkAnswers(app, ops, createLogger("test"));
  app.get("/v1/things/:id", (req, res) => {
    if (req.params.id === "missing") return void res.status(404).json({ error: "no" });
    res.json(req.params.id === "good" ? { id: "good", count: 1 } : { id: "bad", count: "1" });
  });
  app.get("/v1/things", (_req, res) => void res.json({ anything: true }));
  url = await listenOnLoopback(createServer(app), closers);
});
afterAll(async () => {
  for (const close of closers) await close();
});

const get = async (path: string) => {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

test("an answer that matches goes out as it is", async () => {
  expect(await get("/v1/things/good")).toEqual({ status: 200, body: { id: "good", count: 1 } });
});

test("one that does not is a 500 naming the operation and the field", async () => {
  const { status, body } = await get("/v1/things/bad");
  expect(status).toBe(500);
  expect(body).toMatchObject({
    error: {
      code: "answer_schema_mismatch",
      message: expect.stringContaining("getThing does not match its published schema: count"),
    },
  });
});

test("errors, and operations that publish no schema, are not checked", async () => {
  expect((await get("/v1/things/missing")).status).toBe(404);
  expect(await get("/v1/things")).toEqual({ status: 200, body: { anything: true } });
});
