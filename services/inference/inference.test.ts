import { join } from "node:path";
import { startFakeUpstream, type FakeUpstream } from "../../test/support/openaiUpstream.ts";
import { serveApp, type ServedApp, stackCall } from "../../test/support/serviceApp.ts";
import type { ModelVersion } from "../model/contract.ts";
import { inferenceRoutes } from "./app.ts";
import { builtinBackend, readCorpus } from "./builtin.ts";
import type { GenerateRequest, GenerationEvent } from "./contract.ts";
import { withStops, type Backend, type Generation } from "./generation.ts";
import { NgramModel } from "./ngram.ts";
import { countPromptTokens, joinToken, tokenize } from "./tokenizer.ts";
import { upstreamBackend } from "./upstream.ts";

// The inference service over real HTTP: the built-in model trained on the shipped corpus, and
// the upstream backend against a real server that speaks the OpenAI streaming format.

process.env["LOG_LEVEL"] ??= "silent";

const model = new NgramModel(readCorpus(join(__dirname, "corpus")));
const builtin = builtinBackend(new Map([["default", model]]));

const builtinModel: ModelVersion = {
  id: "ngram-3:1",
  name: "ngram-3",
  version: 1,
  backend: "builtin",
  config: { corpus: "default" },
  contextTokens: 4096,
  maxOutputTokens: 1024,
  createdAt: "2026-01-01T00:00:00.000Z",
};
const upstreamModel: ModelVersion = {
  ...builtinModel,
  id: "upstream-deepseek-chat:1",
  name: "upstream-deepseek-chat",
  backend: "upstream",
  config: { model: "deepseek-chat" },
};

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: builtinModel,
  messages: [{ role: "user", content: "Tell me about bread" }],
  temperature: 0,
  topP: 1,
  maxTokens: 64,
  ...over,
});

async function collect(gen: Generation): Promise<string> {
  let text = "";
  for await (const piece of gen.pieces) text += piece;
  return text;
}

const never = new AbortController().signal;

describe("tokenizer", () => {
  test("words keep inner apostrophes; punctuation is a token of its own", () => {
    expect(tokenize("Don't panic, it's 42!")).toEqual(["Don't", "panic", ",", "it's", "42", "!"]);
    expect(countPromptTokens([{ role: "user", content: "Hello there." }])).toBe(1 + 1 + 3);
    expect(
      ["a", ",", "b", "."].reduce<[string, string | undefined]>(
        ([text, prev], t) => [text + joinToken(prev, t), t],
        ["", undefined],
      )[0],
    ).toBe("a, b.");
  });
});

describe("the built-in n-gram model", () => {
  test("trains on the shipped corpus", () => {
    expect(model.sentenceCount).toBeGreaterThan(150);
    expect(model.vocabularySize).toBeGreaterThan(500);
  });

  test("temperature 0 gives the same answer every time, led by the prompt's topic", async () => {
    const answers = await Promise.all(
      [1, 2, 3].map(async () => collect(await builtin.start(request(), never))),
    );
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^Bread /);
    expect(answers[0]).toMatch(/\.$/);
  });

  test("sampling is reproducible with a seed and varies across seeds", async () => {
    const sample = async (seed: number) =>
      collect(await builtin.start(request({ temperature: 1.5, seed, maxTokens: 30 }), never));
    expect(await sample(7)).toBe(await sample(7));
    const distinct = new Set(await Promise.all([1, 2, 3, 4, 5, 6].map(sample)));
    expect(distinct.size).toBeGreaterThan(1);
  });

  test("max tokens cuts the answer and says so; usage counts both sides", async () => {
    const gen = await builtin.start(request({ maxTokens: 3 }), never);
    const text = await collect(gen);
    expect(tokenize(text)).toHaveLength(3);
    expect(gen.result()).toEqual({
      finishReason: "length",
      usage: { promptTokens: countPromptTokens(request().messages), completionTokens: 3 },
    });
  });

  test("a model whose corpus this replica lacks is refused before any text", async () => {
    await expect(
      builtin.start(request({ model: { ...builtinModel, config: { corpus: "other" } } }), never),
    ).rejects.toMatchObject({ status: 503, code: "model_unavailable" });
  });
});

describe("stop sequences", () => {
  const pieces = (...texts: string[]): Generation => ({
    pieces: (async function* () {
      yield* texts;
    })(),
    result: () => ({ finishReason: "length", usage: { promptTokens: 1, completionTokens: 1 } }),
  });

  test("cut the answer before the sequence, even when it spans pieces", async () => {
    const gen = withStops(pieces("one tw", "o thr", "ee four"), ["three"]);
    expect(await collect(gen)).toBe("one two ");
    expect(gen.result().finishReason).toBe("stop");
  });

  test("leave an answer without them whole", async () => {
    const gen = withStops(pieces("one tw", "o"), ["three"]);
    expect(await collect(gen)).toBe("one two");
    expect(gen.result().finishReason).toBe("length");
  });
});

describe("POST /internal/generate", () => {
  let upstream: FakeUpstream;
  let served: ServedApp;
  let release: (() => void) | undefined;
  /** A backend that holds its generation open until released, to fill the service up. */
  const slow: Backend = {
    async start() {
      const gate = new Promise<void>((ok) => (release = ok));
      return {
        pieces: (async function* () {
          await gate;
          yield "late";
        })(),
        result: () => ({ finishReason: "stop", usage: { promptTokens: 1, completionTokens: 1 } }),
      };
    },
  };
  let useSlow = false;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    served = await serveApp("inference", (app, logger) =>
      inferenceRoutes(app, {
        builtin: { start: (req, signal) => (useSlow ? slow : builtin).start(req, signal) },
        upstream: upstreamBackend({ baseUrl: upstream.url, apiKey: "sk-upstream-secret" }),
        maxConcurrent: 1,
        logger,
      }),
    );
  });
  afterAll(async () => {
    await served?.close();
    await upstream?.close();
  });

  async function generate(body: unknown) {
    const res = await fetch(`${served.url}/internal/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...stackCall() },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      text,
      events: () =>
        text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as GenerationEvent),
    };
  }

  test("streams the built-in answer as JSON lines, then how it ended", async () => {
    const res = await generate(request());
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/x-ndjson");
    const events = res.events();
    expect(events.length).toBeGreaterThan(3);
    const text = events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join("");
    expect(text).toMatch(/^Bread /);
    expect(events.at(-1)).toEqual({
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 6, completionTokens: tokenize(text).length },
    });
  });

  test("passes the upstream's stream through, with its key and its usage", async () => {
    upstream.set({ reply: "Bonjour from the remote model." });
    const res = await generate(request({ model: upstreamModel, stop: ["zzz"], seed: 3 }));
    expect(res.status).toBe(200);
    const events = res.events();
    // Held back a little (the stop sequence could start at a piece's end), then passed on.
    const text = events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join("");
    expect(text).toBe("Bonjour from the remote model.");
    expect(events.filter((e) => e.type === "delta").length).toBeGreaterThan(3);
    expect(events.at(-1)).toEqual({
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 11, completionTokens: 22 },
    });
    const sent = upstream.requests.at(-1)!;
    expect(sent.authorization).toBe("Bearer sk-upstream-secret");
    expect(sent.body).toMatchObject({
      model: "deepseek-chat",
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      max_tokens: 64,
      seed: 3,
      messages: request().messages,
    });
  });

  test("counts tokens itself when the upstream gives no usage", async () => {
    upstream.set({ reply: "Two words.", usage: false });
    const events = (await generate(request({ model: upstreamModel }))).events();
    expect(events.at(-1)).toMatchObject({
      usage: { promptTokens: 6, completionTokens: 3 },
    });
  });

  test("an upstream refusal is a status before any byte; a break mid-way is an error line", async () => {
    upstream.set({ status: 429 });
    const refused = await generate(request({ model: upstreamModel }));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).error.code).toBe("upstream_rate_limited");

    upstream.set({ status: 500 });
    expect((await generate(request({ model: upstreamModel }))).status).toBe(503);

    upstream.set({ reply: "one two three four", failAfter: 2 });
    const broken = await generate(request({ model: upstreamModel }));
    expect(broken.status).toBe(200);
    const events = broken.events();
    expect(events.filter((e) => e.type === "delta")).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({
      type: "error",
      status: 503,
      code: "upstream_unavailable",
    });
  });

  test("one generation more than the replica runs at once is a 503 overloaded", async () => {
    useSlow = true;
    try {
      const first = fetch(`${served.url}/internal/generate`, {
        method: "POST",
        headers: { "content-type": "application/json", ...stackCall() },
        body: JSON.stringify(request()),
      });
      while (!release) await new Promise((ok) => setTimeout(ok, 5));
      const second = await generate(request());
      expect(second.status).toBe(503);
      expect(JSON.parse(second.text).error.code).toBe("server_overloaded");
      release();
      expect((await (await first).text()).trim().split("\n")).toHaveLength(3);
    } finally {
      useSlow = false;
    }
  });

  test("a malformed request is a 400 naming the field", async () => {
    const res = await generate({ ...request(), temperature: "hot" });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.param).toBe("temperature");
  });
});
