import type { ChatResult, KeyInfo } from "../apiTasks.ts";
import { PlatformError } from "../errors.ts";
import { deliver, type Awaiting, type FromWorker, type ToWorker } from "../protocol.ts";

// The web console (served at /console): sign in with an API key, then chat with streaming,
// upload files, make and watch videos, and see the key's quota and usage. This thread draws the
// page and schedules; the work runs in Web Workers of three kinds (worker.ts), as the Node
// client's runs in worker threads. A worker that dies is replaced; its tasks fail with a
// message in the panel they came from, and the others carry on.

type Kind = "requests" | "streams" | "uploads";
const KIND_OF: Record<string, Kind> = {
  send: "requests",
  checkKey: "requests",
  chat: "streams",
  upload: "uploads",
  download: "uploads",
};

class BrowserPool {
  private readonly workers = new Map<Kind, Worker>();
  private readonly running = new Map<Kind, Map<number, Awaiting>>();
  private next = 1;

  private worker(kind: Kind): Worker {
    const found = this.workers.get(kind);
    if (found) return found;
    const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: kind });
    const running = new Map<number, Awaiting>();
    w.onmessage = (e: MessageEvent) => {
      const m = e.data as FromWorker;
      const p = running.get(m.id);
      if (p && deliver(m, p)) running.delete(m.id);
    };
    w.onerror = (e) => {
      // The worker is gone: a new one takes its kind's next tasks; these are told.
      this.workers.delete(kind);
      for (const p of running.values())
        p.reject(new Error(`the ${kind} worker failed: ${e.message}`));
      running.clear();
    };
    this.workers.set(kind, w);
    this.running.set(kind, running);
    return w;
  }

  run<R>(task: string, input: Record<string, unknown>, onEvent?: (e: never) => void): Promise<R> {
    const kind = KIND_OF[task]!;
    const id = this.next++;
    const w = this.worker(kind);
    return new Promise((resolve, reject) => {
      this.running.get(kind)!.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onEvent: onEvent as ((e: unknown) => void) | undefined,
      });
      w.postMessage({ type: "task", id, task, input } satisfies ToWorker);
    });
  }
}

const pool = new BrowserPool();
const origin = location.origin;
const KEY_ITEM = "platform-console-key";
let key = sessionStorage.getItem(KEY_ITEM) ?? "";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, text: string) => ($(id).textContent = text);
const failure = (err: unknown) =>
  err instanceof PlatformError
    ? `${err.status} ${err.code}: ${err.message}`
    : err instanceof Error
      ? err.message
      : String(err);

async function api<R>(method: string, path: string, body?: unknown): Promise<R> {
  const input: Record<string, unknown> = { origin, key, method, path };
  if (body !== undefined) input["body"] = body;
  if (method === "POST") input["idempotencyKey"] = crypto.randomUUID();
  const result = await pool.run<{ body: R }>("send", input);
  return result.body;
}

/** Runs `work` for a panel: its errors go to the panel's error line. */
async function guarded(errorId: string, work: () => Promise<void>): Promise<void> {
  show(errorId, "");
  try {
    await work();
  } catch (err) {
    show(errorId, failure(err));
  }
}

async function signIn(candidate: string): Promise<void> {
  key = candidate.trim();
  const who = await pool.run<KeyInfo>("checkKey", { origin, key });
  sessionStorage.setItem(KEY_ITEM, key);
  show("who", `${who.userId} · plan ${who.plan ?? "-"} · key ${who.keyId ?? "-"}`);
  $("signin").hidden = true;
  $("app").hidden = false;
  const models = await api<{ data: { id: string }[] }>("GET", "/v1/models");
  $<HTMLSelectElement>("model").replaceChildren(...models.data.map((m) => new Option(m.id, m.id)));
  await Promise.all([refreshUsage(), refreshFiles(), refreshVideos()]);
}

async function refreshUsage(): Promise<void> {
  await guarded("usage-error", async () => {
    const [quota, usage] = await Promise.all([
      api<unknown>("GET", "/v1/quota"),
      api<unknown>("GET", "/v1/billing/usage"),
    ]);
    show("quota", JSON.stringify(quota, null, 2));
    show("usage", JSON.stringify(usage, null, 2));
  });
}

async function refreshFiles(): Promise<void> {
  const files = await api<{
    data: { id: string; filename: string; bytes: number; sha256: string }[];
  }>("GET", "/v1/files");
  $("files").replaceChildren(
    ...files.data.map((f) => {
      const li = document.createElement("li");
      li.textContent = `${f.filename} · ${f.bytes} bytes · ${f.id} · sha256 ${f.sha256.slice(0, 12)}…`;
      return li;
    }),
  );
}

interface Video {
  id: string;
  status: string;
  progress: number;
  prompt: string;
  error: { code: string; message: string } | null;
}
const watched = new Set<string>();

function videoRow(v: Video): HTMLElement {
  let li = document.getElementById(`video-${v.id}`);
  if (!li) {
    li = document.createElement("li");
    li.id = `video-${v.id}`;
    li.append(document.createElement("span"), document.createElement("progress"));
    $("videos").prepend(li);
  }
  li.dataset["status"] = v.status;
  (li.children[0] as HTMLElement).textContent =
    `${v.prompt.slice(0, 40)} · ${v.status} · ${Math.round(v.progress * 100)}%`;
  const bar = li.children[1] as HTMLProgressElement;
  bar.max = 1;
  bar.value = v.progress;
  if (v.status === "succeeded" && !li.querySelector("button")) {
    const play = document.createElement("button");
    play.textContent = "Play";
    play.onclick = () =>
      void guarded("videos-error", async () => {
        const got = await pool.run<{ blob: Blob }>("download", {
          origin,
          key,
          path: `/v1/videos/${v.id}/content`,
        });
        const player = $<HTMLVideoElement>("player");
        player.src = URL.createObjectURL(got.blob);
        player.hidden = false;
      });
    li.append(play);
  }
  return li;
}

/** Asks for a video every second until it is done; the row shows each change. */
async function watch(id: string): Promise<void> {
  if (watched.has(id)) return;
  watched.add(id);
  try {
    for (;;) {
      const v = await api<Video>("GET", `/v1/videos/${id}`);
      videoRow(v);
      if (v.status === "succeeded" || v.status === "failed") return;
      await new Promise((ok) => setTimeout(ok, 1_000));
    }
  } finally {
    watched.delete(id);
  }
}

async function refreshVideos(): Promise<void> {
  const videos = await api<{ data: Video[] }>("GET", "/v1/videos");
  for (const v of [...videos.data].reverse()) {
    videoRow(v);
    if (v.status !== "succeeded" && v.status !== "failed") void watch(v.id);
  }
}

$<HTMLFormElement>("signin").onsubmit = (e) => {
  e.preventDefault();
  void guarded("signin-error", () => signIn($<HTMLInputElement>("key").value));
};
$("signout").onclick = () => {
  sessionStorage.removeItem(KEY_ITEM);
  location.reload();
};
$("refresh-usage").onclick = () => void refreshUsage();

$<HTMLFormElement>("chat").onsubmit = (e) => {
  e.preventDefault();
  const prompt = $<HTMLTextAreaElement>("prompt").value;
  const answer = $("answer");
  answer.textContent = "";
  void guarded("chat-error", async () => {
    const done = await pool.run<ChatResult>(
      "chat",
      {
        origin,
        key,
        body: {
          model: $<HTMLSelectElement>("model").value,
          messages: [{ role: "user", content: prompt }],
        },
      },
      (delta: string) => answer.append(delta),
    );
    show(
      "chat-meta",
      `${done.model} · ${done.finishReason ?? "?"} · ${done.content.length} characters`,
    );
    await refreshUsage();
  });
};

$<HTMLFormElement>("upload").onsubmit = (e) => {
  e.preventDefault();
  const file = $<HTMLInputElement>("file").files?.[0];
  const bar = $<HTMLProgressElement>("upload-progress");
  void guarded("files-error", async () => {
    if (!file) throw new Error("choose a file first");
    const stored = await pool.run<{ id: string; client_sha256: string }>(
      "upload",
      { origin, key, file, purpose: $<HTMLSelectElement>("purpose").value },
      (p: { done: number; total: number }) => {
        bar.max = p.total;
        bar.value = p.done;
      },
    );
    show("upload-result", `${stored.id}: stored, SHA-256 ${stored.client_sha256} checked`);
    await refreshFiles();
  });
};

$<HTMLFormElement>("video").onsubmit = (e) => {
  e.preventDefault();
  void guarded("videos-error", async () => {
    const v = await api<Video>("POST", "/v1/videos", {
      prompt: $<HTMLInputElement>("video-prompt").value,
      duration_seconds: Number($<HTMLInputElement>("video-seconds").value),
      resolution: "640x360",
    });
    videoRow(v);
    void watch(v.id);
  });
};

if (key) void guarded("signin-error", () => signIn(key));
