import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import { createDatabase } from "../servers/index.ts";
import { requireEnv } from "../support/kafka.ts";
import {
  ROOT,
  startTopology,
  type RunningTopology,
  TOPOLOGY_READY_MS,
} from "../support/localTopology.ts";

// Train -> register -> select -> infer through `npm start`'s topology on real PostgreSQL, Redis
// and Kafka: a corpus uploaded with the official `openai` client (router -> business gateway ->
// storage), a training job (-> training, whose worker reads the corpus from storage, stores the
// model file and registers `ft-<suffix>:1` in the model registry), then a chat completion that
// names the new model (chat -> model selects it -> inference loads its file from storage).

let topo: RunningTopology;
let client: OpenAI;

beforeAll(async () => {
  topo = await startTopology({
    DATABASE_URL: await createDatabase("e2e_training"),
    REDIS_URL: requireEnv("TEST_REDIS_URL"),
    KAFKA_BROKERS: requireEnv("TEST_KAFKA_BROKERS"),
  });
  client = new OpenAI({ baseURL: `${topo.url}/v1`, apiKey: topo.apiKey });
}, TOPOLOGY_READY_MS + 30_000);

afterAll(async () => {
  expect(await topo?.stop()).toBe(0);
});

// Words the shipped corpus does not have: only this corpus can continue them.
const corpus = [
  "The zephyrine orchard grows violet plums beside the glass river.",
  "Zephyrine plums at the harbour market.",
  "The orchard keeper sells zephyrine plums at the harbour market.",
].join("\n");

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(`${topo.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${topo.apiKey}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions check the shape
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

test("a corpus uploaded and trained becomes a model that chat answers from", async () => {
  const file = await client.files.create({
    file: await toFile(Buffer.from(corpus), "orchard.txt", { type: "text/plain" }),
    purpose: "fine-tune",
  });
  expect(file).toMatchObject({ object: "file", purpose: "fine-tune", filename: "orchard.txt" });

  const queued = await api("/v1/training/jobs", {
    method: "POST",
    body: JSON.stringify({ suffix: "orchard", corpus: { file_id: file.id } }),
  });
  expect(queued.status).toBe(202);

  // Polled until it ends; jest's timeout bounds the wait.
  let job = queued.json;
  while (job["status"] === "queued" || job["status"] === "running") {
    await new Promise((ok) => setTimeout(ok, 200));
    job = (await api(`/v1/training/jobs/${job["id"]}`)).json;
  }
  expect(job).toMatchObject({ status: "succeeded", model: "ft-orchard:1", error: null });

  const models = await client.models.list();
  expect(models.data.map((m) => m.id)).toContain("ft-orchard:1");

  const answer = await client.chat.completions.create({
    model: "ft-orchard",
    messages: [{ role: "user", content: "What about the zephyrine harvest?" }],
    temperature: 0,
  });
  expect(answer.choices[0]!.message.content).toBe("Zephyrine plums at the harbour market.");
  expect(answer.system_fingerprint).toBe("fp_ft-orchard:1");

  // The trained model's file is its owner's, in storage.
  const modelFile = await client.files.retrieve(job["result_file"] as string);
  expect(modelFile.purpose).toBe("model");
}, 120_000);

test("the gateway lets a multipart upload through to storage only, and refuses other bodies", async () => {
  const raw = await fetch(`${topo.url}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${topo.apiKey}`, "content-type": "text/plain" },
    body: corpus,
  });
  expect(raw.status).toBe(415);
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", new Blob([corpus]), "c.txt");
  const orders = await fetch(`${topo.url}/v1/orders`, {
    method: "POST",
    headers: { authorization: `Bearer ${topo.apiKey}` },
    body: form,
  });
  expect(orders.status).toBe(415);
});

test("the shipped workflow registers a new model only when it beats the one in use", async () => {
  const definition = readFileSync(
    join(ROOT, "services/workflows/definitions/train-evaluate-register.json"),
    "utf8",
  );
  const workflow = await api("/v1/workflows", { method: "POST", body: definition });
  expect(workflow.status).toBe(201);
  // The model in use, trained on a single sentence of the harbour.
  const current = await api("/v1/training/jobs", {
    method: "POST",
    body: JSON.stringify({ suffix: "harbour", corpus: { text: "The harbour opens at dawn." } }),
  });
  expect(current.status).toBe(202);
  for (let i = 0; i < 120; i++) {
    if ((await api(`/v1/training/jobs/${current.json["id"]}`)).json["status"] === "succeeded")
      break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  const heldOut = "The orchard keeper sells violet plums at the harbour market.";
  const run = async (trainOn: string) => {
    const started = await api(`/v1/workflows/${workflow.json["id"]}/runs`, {
      method: "POST",
      body: JSON.stringify({
        input: {
          suffix: "harbour",
          corpus: trainOn,
          held_out: heldOut,
          current_job: current.json["id"],
        },
      }),
    });
    expect(started.status).toBe(202);
    for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
      await new Promise((ok) => setTimeout(ok, 500));
      const { json } = await api(`/v1/workflow-runs/${started.json["id"]}`);
      if (json["status"] !== "running") return json;
    }
    throw new Error("the workflow run did not end in 90 s");
  };
  const stepOf = (r: Record<string, unknown>, name: string) =>
    (r["steps"] as { name: string; status: string; output: Record<string, unknown> }[]).find(
      (s) => s.name === name,
    )!;

  // Trained on text like the held-out one: it scores better, and is registered.
  const better = await run(corpus);
  expect(better["status"]).toBe("succeeded");
  expect(stepOf(better, "candidate").output["cross_entropy_bits"]).toBeLessThan(
    stepOf(better, "current").output["cross_entropy_bits"] as number,
  );
  expect(stepOf(better, "register")).toMatchObject({
    status: "succeeded",
    output: { model: "ft-harbour:2" },
  });
  const report = await api(`/v1/articles/${stepOf(better, "report").output["id"] as string}`);
  expect(report.json["body"]).toMatch(/Registering the new one: succeeded\.$/);

  // Trained on unrelated text: it scores worse, and is not registered.
  const worse = await run("Quantum chromodynamics binds quarks with gluons in every proton.");
  expect(worse["status"]).toBe("succeeded");
  expect(stepOf(worse, "register").status).toBe("skipped");
  const unregistered = await api(`/v1/training/jobs/${stepOf(worse, "train").output["id"]}`);
  expect(unregistered.json).toMatchObject({ status: "succeeded", register: false, model: null });
});
