import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { HOP_BY_HOP } from "./proxy.ts";

// One request to one replica through undici's dispatcher API (`pool.dispatch` with a handler),
// for the hops that pass answers on: the router and the gateways. `pool.request` wraps every
// call in an async resource, a promise and a Readable, and relaying that Readable takes a pipe,
// its listeners and a promise more: in front of a trivial upstream that structure was a good part
// of a hop's CPU (bench/README.md). Here the answer's chunks go straight from undici's parser to
// the client's response, with undici's own pause and resume as backpressure.

export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** The body of an answer being passed on, read once by one of these. */
export interface AnswerBody {
  /**
   * Writes the answer to `res`: its status (given), its headers but the hop-by-hop ones (its
   * length kept, so that Node does not re-frame it as chunked), and its body as it comes.
   * Resolves once `res` is closed; a client that goes away stops the answer, and a body that
   * fails midway destroys `res` and rejects.
   */
  relay(res: ServerResponse, statusCode: number, headers: AnswerHeaders): Promise<void>;
  bytes(): Promise<Buffer>;
  text(): Promise<string>;
  /** Reads the body and throws it away, so that the connection can serve the next call. */
  dump(): Promise<void>;
}

/** An answer's headers as the next hop gets them (see `AnswerBody.relay`). */
function passedOn(headers: AnswerHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (HOP_BY_HOP.has(name) && name !== "content-length")) continue;
    out[name] = value;
  }
  return out;
}

export interface DispatchRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  /** Time to the answer's headers, and between its body chunks (the pool's defaults if unset). */
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** Where an answer's body goes: `write` returns false while the sink wants no more. */
interface Sink {
  write(chunk: Buffer): boolean;
  end(): void;
  fail(err: Error): void;
}

/** Chunks kept while nobody reads the body yet, before the upstream is paused. */
const QUEUE_BYTES = 64 * 1024;

/**
 * One call and its answer. `send` resolves once the answer's status and headers have come (or
 * rejects with undici's error when none came); its body is then read once, by `relay`, `bytes`,
 * `text` or `dump`. `abort` stops the call at any point.
 */
export class DispatchedCall implements Dispatcher.DispatchHandler, AnswerBody {
  statusCode = 0;
  headers: AnswerHeaders = {};
  private controller: Dispatcher.DispatchController | undefined;
  private aborted: Error | undefined;
  private started: { resolve: (call: DispatchedCall) => void; reject: (err: Error) => void } =
    NOT_STARTED;
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | undefined;
  private sink: Sink | undefined;

  send(pool: Dispatcher, req: DispatchRequest): Promise<DispatchedCall> {
    return new Promise((resolve, reject) => {
      this.started = { resolve, reject };
      pool.dispatch(
        {
          method: req.method as Dispatcher.HttpMethod,
          path: req.path,
          headers: req.headers,
          body: req.body,
          headersTimeout: req.headersTimeout,
          bodyTimeout: req.bodyTimeout,
        },
        this,
      );
    });
  }

  /** Stops the call: before its answer, `send` rejects with `reason`; during it, the body fails. */
  abort(reason: Error = new Error("the call was aborted")): void {
    if (this.aborted || this.ended || this.error) return;
    this.aborted = reason;
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.aborted) controller.abort(this.aborted);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: AnswerHeaders,
  ): void {
    // 1xx answers (100 Continue) are undici's and the hop's own business.
    if (statusCode < 200) return;
    this.statusCode = statusCode;
    this.headers = headers;
    const { resolve } = this.started;
    this.started = NOT_STARTED;
    resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink) {
      if (!this.sink.write(chunk)) controller.pause();
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued > QUEUE_BYTES) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.sink?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.error = err;
    if (this.started !== NOT_STARTED) {
      const { reject } = this.started;
      this.started = NOT_STARTED;
      return reject(err);
    }
    this.sink?.fail(err);
  }

  /** More of the body is wanted (a sink drained). */
  private resume(): void {
    this.controller?.resume();
  }

  /** Gives the body to `sink`: what came already first, then each chunk as it comes. */
  private drainTo(sink: Sink): void {
    if (this.sink) throw new Error("an answer's body is read once");
    this.sink = sink;
    const queue = this.queue;
    this.queue = [];
    let wanting = true;
    for (const chunk of queue) wanting = sink.write(chunk);
    if (this.error) return sink.fail(this.error);
    if (this.ended) return sink.end();
    if (wanting) this.resume();
  }

  relay(
    res: ServerResponse,
    statusCode = this.statusCode,
    headers: AnswerHeaders = this.headers,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      res.writeHead(statusCode, passedOn(headers));
      let draining = false;
      res.once("close", () => {
        resolve();
        if (!res.writableFinished) this.abort();
      });
      this.drainTo({
        write: (chunk) => {
          if (res.write(chunk)) return true;
          if (!draining) {
            draining = true;
            res.on("drain", () => this.resume());
          }
          return false;
        },
        end: () => void res.end(),
        fail: (err) => {
          res.destroy(err);
          reject(err);
        },
      });
    });
  }

  /** The whole body. */
  bytes(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.drainTo({
        write: (chunk) => chunks.push(chunk) > 0,
        end: () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
        fail: reject,
      });
    });
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString("utf8");
  }

  dump(): Promise<void> {
    return new Promise((resolve) => {
      this.drainTo({ write: () => true, end: resolve, fail: () => resolve() });
    });
  }
}

const NOT_STARTED = {
  resolve: () => undefined,
  reject: () => undefined,
};

/** The body of an answer that came as a stream (node:http's, for a streamed upload's call). */
export function streamedBody(stream: Readable): AnswerBody {
  const bytes = async () => Buffer.concat(await stream.toArray());
  return {
    relay: (res, statusCode, headers) =>
      new Promise<void>((resolve, reject) => {
        res.writeHead(statusCode, passedOn(headers));
        stream.once("error", (err) => {
          res.destroy(err);
          reject(err);
        });
        res.once("close", () => {
          if (!res.writableFinished) stream.destroy();
          resolve();
        });
        // A plain pipe rather than stream.pipeline, which allocates an AbortController (and a
        // DOMException with its stack) per call.
        stream.pipe(res);
      }),
    bytes,
    text: async () => (await bytes()).toString("utf8"),
    dump: () => new Promise((done) => stream.resume().once("close", done)),
  };
}
