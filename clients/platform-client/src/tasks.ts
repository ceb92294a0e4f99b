import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  auth,
  bodyOf,
  chat,
  checkKey,
  checkKeyFormat,
  checksumMismatch,
  getContent,
  rotateKey,
  send,
  type ApiContext,
  type Call,
  type ChatInput,
  type ChatResult,
  type KeyInfo,
  type SendInput,
  type SendResult,
} from "./apiTasks.ts";
import { UsageError } from "./errors.ts";
import { multipartFile } from "./multipart.ts";
import { errorOf } from "./retry.ts";
import type { Telemetry, OperationRecord, TelemetrySnapshot } from "./telemetry.ts";

// The task functions by kind of worker thread: requests (sending and retries), streams (chat
// completions' SSE), uploads (files in chunks with their SHA-256, and downloads checked against
// theirs), sessions (checking and rotating API keys) and telemetry. The HTTP-only ones are
// apiTasks.ts's, shared with the browser console; the file ones are Node's. Each runs where its
// kind runs: in a worker of its own (pool.ts) or, for the single-thread comparison, on the
// caller's thread (executor.ts). Inputs and results are plain data.

export { checkKeyFormat, KEY_FORMAT } from "./apiTasks.ts";
export type { ChatResult, KeyInfo, SendInput } from "./apiTasks.ts";

export interface UploadInput extends Call {
  purpose: string;
  /** A file on disk, or the bytes themselves. */
  path?: string;
  bytes?: Uint8Array;
  filename?: string;
  contentType?: string;
  chunkBytes?: number;
}
export interface Progress {
  done: number;
  total: number;
}
export interface DownloadInput extends Call {
  path: string;
  dest: string;
}
export interface DownloadResult {
  dest: string;
  bytes: number;
  sha256: string;
}

/** Every task, by name: its input, its result, and what it reports on the way. */
export interface TaskTypes {
  send: { input: SendInput; result: SendResult; event: never };
  chat: { input: ChatInput; result: ChatResult; event: string };
  upload: { input: UploadInput; result: Record<string, unknown>; event: Progress };
  download: { input: DownloadInput; result: DownloadResult; event: Progress };
  checkKey: { input: Call; result: KeyInfo; event: never };
  rotateKey: {
    input: Call & { name: string };
    result: { key: string; keyId: string };
    event: never;
  };
  record: { input: OperationRecord; result: void; event: never };
  snapshot: { input: Record<string, never>; result: TelemetrySnapshot; event: never };
}
export type TaskName = keyof TaskTypes;

/** The kinds of worker, and the tasks each runs. */
export const WORKER_KINDS = {
  requests: ["send"],
  streams: ["chat"],
  uploads: ["upload", "download"],
  sessions: ["checkKey", "rotateKey"],
  telemetry: ["record", "snapshot"],
} as const satisfies Record<string, readonly TaskName[]>;
export type WorkerKind = keyof typeof WORKER_KINDS;

export const kindOf = (task: TaskName): WorkerKind =>
  (Object.keys(WORKER_KINDS) as WorkerKind[]).find((k) =>
    (WORKER_KINDS[k] as readonly TaskName[]).includes(task),
  )!;

export interface TaskContext extends ApiContext {
  telemetry: Telemetry;
}

type Handler<T extends TaskName> = (
  input: TaskTypes[T]["input"],
  ctx: TaskContext,
) => Promise<TaskTypes[T]["result"]>;

const upload: Handler<"upload"> = async (i, { http, emit }) => {
  checkKeyFormat(i.key);
  if (!i.path === !i.bytes) throw new UsageError("upload: give either a file path or its bytes");
  let size: number;
  if (i.path) {
    try {
      size = (await stat(i.path)).size;
    } catch (err) {
      throw new UsageError(
        `upload: cannot read ${i.path} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  } else size = i.bytes!.length;
  const chunkBytes = i.chunkBytes ?? 256 * 1024;
  const bytes = i.bytes;
  const filename = i.filename ?? (i.path ? basename(i.path) : "upload.txt");
  const form = multipartFile(
    { purpose: i.purpose },
    {
      filename,
      contentType: i.contentType ?? "application/octet-stream",
      size,
      chunks: i.path
        ? () => createReadStream(i.path!, { highWaterMark: chunkBytes })
        : async function* () {
            for (let at = 0; at < bytes!.length; at += chunkBytes)
              yield bytes!.subarray(at, at + chunkBytes);
          },
    },
  );
  let last = 0;
  const answer = await http.send({
    origin: i.origin,
    method: "POST",
    path: "/v1/files",
    headers: {
      ...auth(i.key),
      "content-type": form.contentType,
      "content-length": String(form.length),
    },
    body: () =>
      form.stream((sent) => {
        // A progress event per percent at most: a 4 MiB file is not sixteen hundred messages.
        if (sent === size || sent - last >= size / 100) {
          last = sent;
          emit({ done: sent, total: size } satisfies Progress);
        }
      }),
    // A refused connection or a 429 are retried (nothing was stored); a 503 after the bytes
    // went out is not, as the file may be stored.
    repeatable: false,
  });
  const file = (await bodyOf(answer)) as Record<string, unknown>;
  const sent = form.sha256();
  if (typeof file["sha256"] === "string" && sent && file["sha256"] !== sent)
    throw checksumMismatch(
      `${filename}: the platform stored SHA-256 ${file["sha256"]}, the client sent ${sent}`,
    );
  return { ...file, client_sha256: sent };
};

const download: Handler<"download"> = async (i, { http, emit }) => {
  const answer = await getContent(i, http);
  if (answer.status !== 200) throw await errorOf(answer, 1);
  const total = Number(answer.headers["content-length"] ?? 0);
  const hash = createHash("sha256");
  const out = createWriteStream(i.dest);
  let done = 0;
  try {
    for await (const chunk of answer.body) {
      hash.update(chunk);
      done += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((ok) => out.once("drain", () => ok()));
      emit({ done, total } satisfies Progress);
    }
    await new Promise<void>((ok, fail) =>
      out.end((err?: Error | null) => (err ? fail(err) : ok())),
    );
  } catch (err) {
    out.destroy();
    await rm(i.dest, { force: true });
    throw err;
  }
  const sha256 = hash.digest("hex");
  const expected = answer.headers["x-content-sha256"];
  if (expected && expected !== sha256) {
    await rm(i.dest, { force: true });
    throw checksumMismatch(
      `${i.path}: received SHA-256 ${sha256}, the platform announced ${expected}; nothing was kept`,
    );
  }
  return { dest: i.dest, bytes: done, sha256 };
};

const record: Handler<"record"> = async (i, { telemetry }) => telemetry.record(i);
const snapshot: Handler<"snapshot"> = async (_i, { telemetry }) => telemetry.snapshot();

export const handlers: { [T in TaskName]: Handler<T> } = {
  send,
  chat,
  upload,
  download,
  checkKey,
  rotateKey,
  record,
  snapshot,
};
