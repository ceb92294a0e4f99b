import { parseArgs } from "node:util";
import { PlatformClient } from "./client.ts";
import { ConnectionError, PlatformError, UsageError, WorkerCrashedError } from "./errors.ts";
import type { Progress } from "./tasks.ts";

// `npx platform ...`: the client library from a terminal. Every command is one or a few calls of
// a session (client.ts); what it prints is the answer, as JSON with --json.

const USAGE = `usage: platform <command> [options]

  status                                   who the key is, its plan and quota
  chat [--model M] [--conversation ID] TEXT  a streamed chat completion, printed as it comes
  orders create --item X [--quantity N]    orders list    orders get ID
  files upload FILE [--purpose fine-tune|vision]   files list   files download ID DEST
  videos create --prompt P [--duration S] [--resolution 640x360|1280x720] [--voice] [--wait]
  videos get ID    videos wait ID    videos download ID DEST
  workflows list   workflows run ID [--input JSON]   workflows run-status RUN_ID

options:
  --url URL        the platform (PLATFORM_URL, default http://127.0.0.1:8080)
  --api-key KEY    the API key (PLATFORM_API_KEY); npm start prints a demo key
  --threads off    run on one thread instead of worker threads
  --json           print answers as JSON`;

const { values: o, positionals: args } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    "api-key": { type: "string" },
    threads: { type: "string" },
    json: { type: "boolean", default: false },
    model: { type: "string" },
    conversation: { type: "string" },
    item: { type: "string" },
    quantity: { type: "string", default: "1" },
    purpose: { type: "string", default: "fine-tune" },
    prompt: { type: "string" },
    duration: { type: "string", default: "5" },
    resolution: { type: "string", default: "640x360" },
    voice: { type: "boolean", default: false },
    wait: { type: "boolean", default: false },
    input: { type: "string", default: "{}" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const print = (value: unknown, human?: string) =>
  console.log(o.json || human === undefined ? JSON.stringify(value, null, 2) : human);

/** A bar on a terminal; a line per quarter elsewhere (logs, tests). */
function progressBar(label: string) {
  let lastQuarter = -1;
  return (p: Progress) => {
    const share = p.total > 0 ? p.done / p.total : 0;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    if (process.stderr.isTTY) {
      const width = 30;
      const full = Math.round(share * width);
      process.stderr.write(
        `\r${label} [${"#".repeat(full)}${" ".repeat(width - full)}] ${Math.round(share * 100)}% ${mib(p.done)}/${mib(p.total)} MiB`,
      );
      if (p.done >= p.total) process.stderr.write("\n");
    } else if (Math.floor(share * 4) > lastQuarter) {
      lastQuarter = Math.floor(share * 4);
      process.stderr.write(
        `${label} ${Math.round(share * 100)}% (${mib(p.done)}/${mib(p.total)} MiB)\n`,
      );
    }
  };
}

const need = (value: string | undefined, what: string) => {
  if (value === undefined || value === "") throw new UsageError(`${what} is required\n\n${USAGE}`);
  return value;
};
const int = (value: string, what: string) => {
  if (!/^\d+$/.test(value))
    throw new UsageError(`${what}: ${JSON.stringify(value)} is not a whole number`);
  return Number(value);
};

async function main(): Promise<void> {
  const [command, sub, ...rest] = args;
  if (o.help || !command) {
    console.log(USAGE);
    return;
  }
  const key = o["api-key"] ?? process.env["PLATFORM_API_KEY"];
  if (!key)
    throw new UsageError(
      "no API key: pass --api-key or set PLATFORM_API_KEY (npm start prints a demo key)",
    );
  const threads =
    o.threads === undefined
      ? true
      : o.threads === "off"
        ? false
        : { requests: int(o.threads, "--threads") };
  const client = new PlatformClient({
    origin: o.url ?? process.env["PLATFORM_URL"] ?? "http://127.0.0.1:8080",
    threads,
  });
  try {
    const s = client.session(key, { name: "cli" });
    switch (command) {
      case "status": {
        const who = await s.whoami();
        const quota = await s.call("get", "/v1/quota");
        print(
          { principal: who, quota },
          `user ${who.userId} (plan ${who.plan ?? "-"}, key ${who.keyId ?? "-"})\nquota ${JSON.stringify(quota)}`,
        );
        return;
      }
      case "chat": {
        const text = [sub, ...rest].filter((x) => x !== undefined).join(" ");
        need(text, "chat: the message");
        const models = (await s.call("get", "/v1/models")) as { data?: { id: string }[] };
        const model = o.model ?? models.data?.[0]?.id;
        if (!model) throw new UsageError("chat: the platform lists no model; pass --model");
        const answer = await s.chat(
          { model, messages: [{ role: "user", content: text }] },
          {
            ...(o.conversation ? { conversationId: o.conversation } : {}),
            onDelta: o.json ? undefined : (d) => process.stdout.write(d),
          },
        );
        if (o.json) print(answer);
        else
          process.stdout.write(
            `\n[${answer.model}, ${answer.finishReason ?? "?"}${answer.conversationId ? `, conversation ${answer.conversationId}` : ""}]\n`,
          );
        return;
      }
      case "orders":
        if (sub === "create")
          return print(
            await s.call("post", "/v1/orders", {
              body: {
                item: need(o.item, "orders create: --item"),
                quantity: int(o.quantity, "--quantity"),
              },
            }),
          );
        if (sub === "list") return print(await s.call("get", "/v1/orders"));
        if (sub === "get")
          return print(
            await s.call("get", "/v1/orders/{id}", {
              params: { id: need(rest[0], "orders get: the order id") },
            }),
          );
        break;
      case "files":
        if (sub === "upload") {
          const path = need(rest[0], "files upload: the file");
          if (o.purpose !== "fine-tune" && o.purpose !== "vision")
            throw new UsageError(`--purpose: must be fine-tune or vision, not ${o.purpose}`);
          const file = await s.upload(
            { path },
            { purpose: o.purpose, onProgress: progressBar(`upload ${path}`) },
          );
          return print(
            file,
            `${file.id} ${String(file["filename"])} ${String(file["bytes"])} bytes sha256 ${file.client_sha256} (checked)`,
          );
        }
        if (sub === "list") return print(await s.call("get", "/v1/files"));
        if (sub === "download") {
          const id = need(rest[0], "files download: the file id");
          const got = await s.download(
            { fileId: id },
            need(rest[1], "files download: the destination"),
            progressBar(`download ${id}`),
          );
          return print(got, `${got.dest}: ${got.bytes} bytes, sha256 ${got.sha256} (checked)`);
        }
        break;
      case "videos": {
        const wait = async (id: string) =>
          s.waitForVideo(id, {
            onProgress: (v) =>
              process.stderr.write(`video ${id}: ${v.status} ${Math.round(v.progress * 100)}%\n`),
          });
        if (sub === "create") {
          const video = (await s.call("post", "/v1/videos", {
            body: {
              prompt: need(o.prompt, "videos create: --prompt"),
              duration_seconds: int(o.duration, "--duration"),
              resolution: o.resolution as "640x360",
              voice: o.voice,
            },
          })) as { id: string };
          return print(o.wait ? await wait(video.id) : video);
        }
        if (sub === "get")
          return print(
            await s.call("get", "/v1/videos/{id}", {
              params: { id: need(rest[0], "videos get: the video id") },
            }),
          );
        if (sub === "wait") return print(await wait(need(rest[0], "videos wait: the video id")));
        if (sub === "download") {
          const id = need(rest[0], "videos download: the video id");
          const got = await s.download(
            { videoId: id },
            need(rest[1], "videos download: the destination"),
            progressBar(`download ${id}`),
          );
          return print(got, `${got.dest}: ${got.bytes} bytes, sha256 ${got.sha256}`);
        }
        break;
      }
      case "workflows": {
        if (sub === "list") return print(await s.call("get", "/v1/workflows"));
        if (sub === "run") {
          let input: Record<string, unknown>;
          try {
            input = JSON.parse(o.input) as Record<string, unknown>;
          } catch {
            throw new UsageError(`--input: not JSON: ${o.input}`);
          }
          return print(
            await s.call("post", "/v1/workflows/{id}/runs", {
              params: { id: need(rest[0], "workflows run: the workflow id") },
              body: { input },
            }),
          );
        }
        if (sub === "run-status")
          return print(
            await s.call("get", "/v1/workflow-runs/{id}", {
              params: { id: need(rest[0], "the run id") },
            }),
          );
        break;
      }
    }
    throw new UsageError(
      `unknown command: ${[command, sub].filter(Boolean).join(" ")}\n\n${USAGE}`,
    );
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  const e = err as Error;
  const what =
    err instanceof PlatformError
      ? `${err.status} ${err.code}: ${err.message}${err.param ? ` (${err.param})` : ""}${err.requestId ? ` [request ${err.requestId}]` : ""}`
      : err instanceof ConnectionError ||
          err instanceof UsageError ||
          err instanceof WorkerCrashedError
        ? e.message
        : (e.stack ?? e.message);
  console.error(`platform: ${what}`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
