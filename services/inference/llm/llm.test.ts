import { signedCall } from "../../../test/support/serviceApp.ts";
import { startServiceProcess, type ServiceProcess } from "../../../test/support/serviceProcess.ts";
import type { ModelVersion } from "../../model/contract.ts";
import { LANGUAGE_MODEL } from "../../model/store.ts";
import type { GenerateRequest, GenerationEvent } from "../contract.ts";
import { FALLBACK_FINGERPRINT } from "./backend.ts";

// The language model for real: SmolLM2-135M-Instruct in llama.cpp (node-llama-cpp), in the
// inference service's own process, from the file the test setup fetched and verified
// (scripts/model/fetch.ts). Nothing here depends on how fast it runs, only on what it says and
// how the service treats it.

const languageModel: ModelVersion = {
  id: `${LANGUAGE_MODEL.name}:1`,
  name: LANGUAGE_MODEL.name,
  version: 1,
  backend: "builtin",
  config: { ...LANGUAGE_MODEL.config },
  contextTokens: LANGUAGE_MODEL.contextTokens,
  maxOutputTokens: LANGUAGE_MODEL.maxOutputTokens,
  createdAt: "2026-01-01T00:00:00.000Z",
};

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: languageModel,
  messages: [{ role: "user", content: "Tell me about the sea" }],
  temperature: 0,
  topP: 1,
  maxTokens: 24,
  ...over,
});

/** A JSON answer that cannot end early: hundreds of numbers, whatever the model would rather say. */
const longAnswer = { type: "array", items: { type: "integer" }, minItems: 400 };

let service: ServiceProcess;

beforeAll(async () => {
  // No one may wait for the model: a second request at once shows the fallback.
  service = await startServiceProcess("inference", "business", {
    INFERENCE_LLM_THREADS: "1",
    INFERENCE_LLM_MAX_WAITING: "0",
    DRAIN_DELAY_MS: "0",
  });
}, 180_000);
afterAll(async () => {
  await service?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: string;
  events: GenerationEvent[];
  text: string;
  fingerprint?: string;
  done?: Extract<GenerationEvent, { type: "done" }>;
  toolCalls: Extract<GenerationEvent, { type: "toolCall" }>["call"][];
}

/** POST /internal/generate signed as the chat service signs it (an unsigned call is a 401). */
function post(body: GenerateRequest, signal?: AbortSignal): Promise<Response> {
  const json = JSON.stringify(body);
  return fetch(`${service.url}/internal/generate`, {
    method: "POST",
    headers: signedCall("POST", "/internal/generate", json, {
      "content-type": "application/json",
    }),
    body: json,
    ...(signal ? { signal } : {}),
  });
}

async function generate(body: GenerateRequest): Promise<Answer> {
  const res = await post(body);
  const text = await res.text();
  const events = res.ok
    ? text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as GenerationEvent)
    : [];
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: text,
    events,
    text: events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join(""),
    fingerprint: events.find((e) => e.type === "start")?.fingerprint,
    done: events.find((e) => e.type === "done"),
    toolCalls: events.flatMap((e) => (e.type === "toolCall" ? [e.call] : [])),
  };
}

describe("SmolLM2 in the inference service", () => {
  test("temperature 0 answers the same every time, in words, counted by its own tokenizer", async () => {
    const a = await generate(request());
    const b = await generate(request());
    expect(a.fingerprint).toBe(languageModel.id);
    expect(a.text).toBe(b.text);
    expect(a.text).toMatch(/sea/i);
    expect(a.text.split(/\s+/).length).toBeGreaterThan(5);
    expect(a.done?.finishReason).toBe("length");
    expect(a.done?.usage.completionTokens).toBe(24);
    // The chat template wraps the message in role markers: more tokens than its four words.
    expect(a.done?.usage.promptTokens).toBeGreaterThan(8);
  });

  test("a seed makes sampling reproducible", async () => {
    const sample = async () => (await generate(request({ temperature: 1, seed: 7 }))).text;
    expect(await sample()).toBe(await sample());
  });

  test("a stop sequence ends the answer before it", async () => {
    const whole = (await generate(request({ maxTokens: 40 }))).text;
    const stop = whole.split(" ")[4]!;
    const cut = await generate(request({ maxTokens: 40, stop: [stop] }));
    expect(cut.text).toBe(whole.slice(0, whole.indexOf(stop)));
    expect(cut.done?.finishReason).toBe("stop");
  });

  test("a JSON schema: the answer parses and has the schema's fields", async () => {
    const res = await generate(
      request({
        messages: [{ role: "user", content: "What is the capital of France? Answer in JSON." }],
        maxTokens: 60,
        responseSchema: {
          type: "object",
          properties: { city: { type: "string" }, country: { type: "string" } },
          required: ["city", "country"],
        },
      }),
    );
    const parsed = JSON.parse(res.text) as Record<string, unknown>;
    expect(typeof parsed["city"]).toBe("string");
    expect(typeof parsed["country"]).toBe("string");
  });

  test("tools: one call to one of them, with arguments of its parameters", async () => {
    const res = await generate(
      request({
        messages: [{ role: "user", content: "What is the weather in Paris?" }],
        maxTokens: 60,
        tools: [
          {
            name: "get_weather",
            description: "The current weather in a city",
            parameters: {
              type: "object",
              properties: { city: { type: "string" } },
              required: ["city"],
            },
          },
          { name: "get_time", description: "The time now" },
        ],
        toolChoice: "required",
      }),
    );
    expect(res.text).toBe("");
    expect(res.done?.finishReason).toBe("tool_calls");
    expect(res.toolCalls).toHaveLength(1);
    const [call] = res.toolCalls;
    expect(["get_weather", "get_time"]).toContain(call!.name);
    expect(call!.id).toMatch(/^call_/);
    expect(typeof JSON.parse(call!.arguments)).toBe("object");
  });

  test("after a tool's answer, tool_choice auto answers in words", async () => {
    const res = await generate(
      request({
        messages: [
          { role: "user", content: "What is the weather in Paris?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
          },
          { role: "tool", content: '{"sky":"sunny","celsius":21}', toolCallId: "call_1" },
        ],
        tools: [{ name: "get_weather" }],
        toolChoice: "auto",
      }),
    );
    expect(res.text.length).toBeGreaterThan(0);
    expect(res.toolCalls).toEqual([]);
    expect(res.done?.finishReason).not.toBe("tool_calls");
  });
});

describe("one model per replica", () => {
  test("busy: text falls back to the n-gram model and says so, JSON is a 503 with Retry-After; a caller that leaves cancels its generation", async () => {
    const gone = new AbortController();
    const long = await post(request({ maxTokens: 1_000, responseSchema: longAnswer }), gone.signal);
    expect(long.status).toBe(200);
    const reader = long.body!.getReader();
    const decoder = new TextDecoder();
    // The start line, then the first piece: the model is generating. A stream that ends first
    // fails here: read() on an ended stream resolves at once, and a loop on it would never give
    // Jest's timer a turn.
    let seen = "";
    while (seen.split("\n").length < 3) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the generation ended before its first piece:\n${seen}`);
      seen += decoder.decode(chunk.value, { stream: true });
    }

    const text = await generate(request());
    expect(text.status).toBe(200);
    expect(text.fingerprint).toBe(FALLBACK_FINGERPRINT);
    expect(text.text.length).toBeGreaterThan(0);

    const json = await generate(request({ responseSchema: { type: "object" } }));
    expect(json.status).toBe(503);
    expect(json.retryAfter).toBe("1");
    expect(JSON.parse(json.body)).toMatchObject({ error: { code: "server_overloaded" } });

    gone.abort();
    const ended = async () => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const line = service
          .logs()
          .find((l) => l["msg"] === "language model generation ended" && l["cancelled"] === true);
        if (line) return line;
        await new Promise((ok) => setTimeout(ok, 100));
      }
      throw new Error("no cancelled generation was logged within 30 s");
    };
    const line = await ended();
    // 400 numbers are more than 800 tokens: it stopped when the caller left, not at the end.
    expect(line["completionTokens"]).toBeLessThan(800);
    const again = await generate(request({ maxTokens: 4 }));
    expect(again.fingerprint).toBe(languageModel.id);
  });
});
