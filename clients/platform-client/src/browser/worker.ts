import {
  auth,
  chat,
  checkKey,
  checkKeyFormat,
  checksumMismatch,
  getContent,
  send,
  type ApiContext,
  type Call,
} from "../apiTasks.ts";
import { toWire } from "../errors.ts";
import { runTask, type FromWorker, type ToWorker } from "../protocol.ts";
import { sendWithRetries, type HttpAnswer, type HttpRequest } from "../retry.ts";
import { FetchTransport } from "./http.ts";

// A Web Worker of the console (console.ts starts one per kind: requests, streams, uploads): the
// library's HTTP-only task functions as in Node's threads, and the browser's own file tasks, an
// upload with its progress (XMLHttpRequest reports it, fetch does not) and SHA-256 (WebCrypto),
// a download checked against the hash the platform sends.

const http = new FetchTransport();
const scope = self as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

const hex = (buf: ArrayBuffer) =>
  [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (blob: Blob) =>
  hex(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));

interface UploadBlob extends Call {
  file: File;
  purpose: string;
}

/** The answer's headers, as fetch would give them (lower-case names). */
function headersOf(xhr: XMLHttpRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return headers;
}

/**
 * One attempt of an upload by XMLHttpRequest, which reports the bytes that went out (fetch does
 * not). Progress counts the file's bytes: the form's framing before the file is left out. A
 * connection lost before any of the form went out is marked `notSent`, so the retry rules may
 * send it again, as after a refused connection.
 */
const xhrUpload =
  (file: File, purpose: string, emit: (e: unknown) => void) =>
  (req: HttpRequest): Promise<HttpAnswer> =>
    new Promise((ok, fail) => {
      const form = new FormData();
      form.set("purpose", purpose);
      form.set("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open(req.method, `${req.origin}${req.path}`);
      for (const [k, v] of Object.entries(req.headers)) xhr.setRequestHeader(k, v);
      let loaded = 0;
      xhr.upload.onprogress = (e) => {
        loaded = e.loaded;
        const framing = Math.max(0, e.total - file.size);
        emit({ done: Math.min(file.size, Math.max(0, e.loaded - framing)), total: file.size });
      };
      xhr.onerror = () =>
        fail(
          Object.assign(
            new Error(loaded ? "the connection was lost" : "the upload did not go out"),
            {
              notSent: loaded === 0,
            },
          ),
        );
      xhr.onload = () => {
        const text = xhr.responseText;
        ok({
          status: xhr.status,
          headers: headersOf(xhr),
          body: {
            async *[Symbol.asyncIterator]() {
              yield new TextEncoder().encode(text);
            },
          },
          text: async () => text,
        });
      };
      xhr.send(form);
    });

/**
 * A file from the page, under the same rules as the Node client's uploads: a 429 waits what
 * `Retry-After` says and goes again (nothing was stored), a 5xx after the bytes went out does
 * not (the file may be stored), and what the platform stored is checked against the SHA-256 of
 * what the browser sent.
 */
async function upload(i: UploadBlob, { emit }: ApiContext): Promise<Record<string, unknown>> {
  checkKeyFormat(i.key);
  // Browsers set their own User-Agent and refuse a page's.
  const headers = Object.fromEntries(
    Object.entries(auth(i.key)).filter(([name]) => name !== "user-agent"),
  );
  const answer = await sendWithRetries(xhrUpload(i.file, i.purpose, emit), http.policy, {
    origin: i.origin,
    method: "POST",
    path: "/v1/files",
    headers,
    repeatable: false,
  });
  const body = JSON.parse(await answer.text()) as Record<string, unknown>;
  const sent = await sha256(i.file);
  if (body["sha256"] !== sent)
    throw checksumMismatch(
      `the platform stored SHA-256 ${String(body["sha256"])}, the browser sent ${sent}`,
    );
  return { ...body, client_sha256: sent };
}

async function download(i: Call & { path: string }, { emit }: ApiContext) {
  const answer = await getContent(i, http);
  const parts: Uint8Array[] = [];
  let done = 0;
  const total = Number(answer.headers["content-length"] ?? 0);
  for await (const chunk of answer.body) {
    parts.push(chunk);
    done += chunk.length;
    emit({ done, total });
  }
  const blob = new Blob(parts as BlobPart[], { type: answer.headers["content-type"] ?? "" });
  const got = await sha256(blob);
  const expected = answer.headers["x-content-sha256"];
  if (expected && expected !== got)
    throw checksumMismatch(`received SHA-256 ${got}, the platform announced ${expected}`);
  return { blob, sha256: got, bytes: done };
}

const handlers: Record<string, (input: never, ctx: ApiContext) => Promise<unknown>> = {
  send,
  chat,
  checkKey,
  upload,
  download,
};

scope.onmessage = (e: MessageEvent) => {
  const m = e.data as ToWorker;
  if (m.type !== "task") return;
  const post = (out: FromWorker) => scope.postMessage(out);
  const run = handlers[m.task];
  if (!run) {
    if (m.id !== undefined)
      post({ type: "failed", id: m.id, error: toWire(new Error(`no task ${m.task}`)) });
    return;
  }
  runTask(post, m.id, (emit) => run(m.input as never, { http, emit }));
};
