import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for a remote OpenAI-compatible API (DeepSeek's, OpenAI's): a real HTTP server that
 * speaks the streaming chat format, so the upstream backend is tested over the wire. It answers
 * `reply` word by word; `failAfter` breaks the stream with an error event after that many words;
 * `status` refuses the request outright.
 */
export interface FakeUpstream {
  url: string;
  /** The bodies and authorization headers received. */
  requests: { body: Record<string, unknown>; authorization: string | undefined }[];
  set(behaviour: { reply?: string; failAfter?: number; status?: number; usage?: boolean }): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  let behaviour: { reply: string; failAfter?: number; status?: number; usage: boolean } = {
    reply: "Hello from upstream.",
    usage: true,
  };
  const requests: FakeUpstream["requests"] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as Record<string, unknown>;
    requests.push({ body, authorization: req.headers.authorization });
    if (req.url !== "/v1/chat/completions") return void res.writeHead(404).end();
    if (behaviour.status) {
      res.writeHead(behaviour.status, { "content-type": "application/json" });
      return void res.end(
        JSON.stringify({ error: { message: `refused with ${behaviour.status}`, type: "x" } }),
      );
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const base = { id: "up-1", object: "chat.completion.chunk", created: 1, model: body["model"] };
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    send({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" } }] });
    const words = behaviour.reply.split(/(?= )/);
    for (const [i, word] of words.entries()) {
      if (behaviour.failAfter !== undefined && i === behaviour.failAfter) {
        send({ error: { message: "upstream broke", type: "server_error" } });
        return void res.end();
      }
      send({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] });
      await new Promise((ok) => setImmediate(ok));
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    if (behaviour.usage)
      send({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 22 } });
    res.end("data: [DONE]\n\n");
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    set: (b) => (behaviour = { reply: "Hello from upstream.", usage: true, ...b }),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
