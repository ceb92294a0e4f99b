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
import { PlatformError, toWire } from "../errors.ts";
import { runTask, type FromWorker, type ToWorker } from "../protocol.ts";
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

function upload(i: UploadBlob, { emit }: ApiContext): Promise<Record<string, unknown>> {
  checkKeyFormat(i.key);
  return new Promise((ok, fail) => {
    const form = new FormData();
    form.set("purpose", i.purpose);
    form.set("file", i.file, i.file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${i.origin}/v1/files`);
    for (const [k, v] of Object.entries(auth(i.key)))
      if (k !== "user-agent") xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => emit({ done: e.loaded, total: e.total });
    xhr.onerror = () => fail(new Error(`cannot reach ${i.origin}: the upload did not go out`));
    xhr.onload = async () => {
      let body: { error?: Record<string, string> } & Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // not JSON: reported below with the status
      }
      if (xhr.status >= 400 || body.error)
        return fail(
          new PlatformError({
            status: xhr.status,
            type: body.error?.["type"] ?? "api_error",
            code: body.error?.["code"] ?? `http_${xhr.status}`,
            message: body.error?.["message"] ?? `HTTP ${xhr.status}`,
            param: body.error?.["param"] ?? null,
          }),
        );
      const sent = await sha256(i.file);
      if (body["sha256"] !== sent)
        return fail(
          checksumMismatch(
            `the platform stored SHA-256 ${String(body["sha256"])}, the browser sent ${sent}`,
          ),
        );
      ok({ ...body, client_sha256: sent });
    };
    xhr.send(form);
  });
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
