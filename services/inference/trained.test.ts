import { createHash } from "node:crypto";
import type { ModelVersion } from "../model/contract.ts";
import { builtinBackend } from "./builtin.ts";
import type { GenerateRequest } from "./contract.ts";
import { NgramModel, ngramSnapshot } from "./ngram.ts";
import { TrainedModels } from "./trained.ts";

// Trained models as files: the snapshot round trip, pruning by count, and the bounded cache of
// models loaded from storage (here a map standing for the storage client; the training test
// runs the real storage service).

const corpus =
  "The kettle sings when the water boils.\nThe kettle sings a low song at dawn.\nA cat sleeps.\n";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const trainedModel = (file: string, sha256: string): ModelVersion => ({
  id: "ft-kettle:1",
  name: "ft-kettle",
  version: 1,
  backend: "builtin",
  config: { file, sha256 },
  contextTokens: 4096,
  maxOutputTokens: 64,
  createdAt: "2026-01-01T00:00:00.000Z",
});

const request = (model: ModelVersion): GenerateRequest => ({
  model,
  messages: [{ role: "user", content: "What does the kettle do?" }],
  temperature: 0,
  topP: 1,
  maxTokens: 32,
});

async function answer(backend: ReturnType<typeof builtinBackend>, model: ModelVersion) {
  const gen = await backend.start(request(model), new AbortController().signal);
  let text = "";
  for await (const piece of gen.pieces) text += piece;
  return text;
}

test("a snapshot answers exactly as the model it was taken from, and survives JSON", () => {
  const model = new NgramModel(corpus);
  const file = JSON.parse(JSON.stringify(model.toSnapshot())) as unknown;
  const loaded = new NgramModel(ngramSnapshot.parse(file));
  const opts = { prompt: "kettle", maxTokens: 20, temperature: 0, topP: 1, seed: 1 };
  expect([...loaded.generate(opts).tokens]).toEqual([...model.generate(opts).tokens]);
  expect(loaded.sentenceCount).toBe(3);
  expect(loaded.vocabularySize).toBe(model.vocabularySize);
});

test("min_count drops the continuations seen fewer times", () => {
  const model = new NgramModel(corpus);
  const all = model.toSnapshot();
  const pruned = model.toSnapshot({ minCount: 2 });
  const continuations = (s: typeof all) => s.trigrams.flatMap(([, next]) => next).length;
  expect(continuations(pruned)).toBeLessThan(continuations(all));
  expect(pruned.trigrams.every(([, next]) => next.every(([, c]) => c >= 2))).toBe(true);
  // "the kettle sings" was seen twice and stays.
  expect(pruned.trigrams.find(([c]) => c === "the\u0000kettle")?.[1]).toEqual([["sings", 2]]);
});

describe("TrainedModels", () => {
  const files = new Map<string, Buffer>();
  const fetched: string[] = [];
  const fetchFile = async (id: string) => {
    fetched.push(id);
    return files.get(id);
  };
  const a = Buffer.from(JSON.stringify(new NgramModel(corpus).toSnapshot()));
  const b = Buffer.from(
    JSON.stringify(new NgramModel("Snow falls on the quiet hills.").toSnapshot()),
  );
  files.set("file_a", a);
  files.set("file_b", b);
  files.set("file_junk", Buffer.from("{}"));

  test("the built-in backend answers from a trained file, loaded once, at temperature 0 the same each time", async () => {
    fetched.length = 0;
    const backend = builtinBackend(new Map(), new TrainedModels(fetchFile, 4));
    const first = await answer(backend, trainedModel("file_a", sha(a)));
    expect(first).toMatch(/^The kettle sings/);
    expect(await answer(backend, trainedModel("file_a", sha(a)))).toBe(first);
    expect(fetched).toEqual(["file_a"]);
  });

  test("the cache keeps the most recently used models only", async () => {
    fetched.length = 0;
    const cache = new TrainedModels(fetchFile, 1);
    await Promise.all([
      cache.load({ file: "file_a", sha256: sha(a) }),
      cache.load({ file: "file_a", sha256: sha(a) }),
    ]);
    expect(fetched).toEqual(["file_a"]);
    await cache.load({ file: "file_b", sha256: sha(b) });
    expect(cache.size).toBe(1);
    await cache.load({ file: "file_a", sha256: sha(a) });
    expect(fetched).toEqual(["file_a", "file_b", "file_a"]);
  });

  test("a deleted file is the caller's 404, and is not cached", async () => {
    const cache = new TrainedModels(fetchFile, 4);
    await expect(cache.load({ file: "file_none", sha256: "0".repeat(64) })).rejects.toMatchObject({
      status: 404,
      code: "model_file_not_found",
    });
    expect(cache.size).toBe(0);
  });

  test.each([
    ["a file that does not match its hash", "file_a", sha(b), "model_file_mismatch"],
    ["a file that is no model", "file_junk", sha(Buffer.from("{}")), "model_file_invalid"],
  ])("%s is a 503, and is not cached", async (_what, file, sha256, code) => {
    const cache = new TrainedModels(fetchFile, 4);
    await expect(cache.load({ file, sha256 })).rejects.toMatchObject({ status: 503, code });
    expect(cache.size).toBe(0);
  });

  test("a replica that cannot reach storage answers 503 for a trained model", async () => {
    const backend = builtinBackend(new Map());
    await expect(
      backend.start(request(trainedModel("file_a", sha(a))), new AbortController().signal),
    ).rejects.toMatchObject({ status: 503, code: "model_unavailable" });
  });
});
