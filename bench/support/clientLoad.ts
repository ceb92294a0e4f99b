import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "undici";

// Load for the failure drills: a fleet of simulated clients, each with its own API key, its own
// loopback source address and one keep-alive connection, sending one request at a time at a
// steady pace, and recording every request's outcome.
//
// Why not autocannon here: autocannon ignores `Connection: close`. It writes its next request on
// a connection the server is closing, and that request is lost without being counted as an
// error (measured: against a server that closes after every answer it "sent" 20 833 requests,
// got 10 412 answers and reported 0 errors). A draining replica answers with `Connection:
// close`, exactly what these drills exercise, so its numbers would hide failures and invent
// others. undici (Node's own HTTP client, the one fetch and the SDKs use) honours it, and each
// request's fate is recorded here. The throughput bench, where nothing drains, uses autocannon.

/** One simulated client: its key and the loopback address its connection comes from. */
export interface SimulatedClient {
  apiKey: string;
  /** 127.0.0.x: the gateways limit per client address too, so each client needs its own. */
  sourceAddress: string;
}

export interface LoadRequest {
  /** A label for the figures, e.g. `GET` or `POST`. */
  kind: string;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Outcome {
  kind: string;
  /** When it was sent, in ms since the load started. */
  at: number;
  /** Time to the whole answer (or to the error), in ms. */
  ms: number;
  /** HTTP status; 0 when there was no answer (socket error or time-out). */
  status: number;
  error?: string;
  /** The JSON body of an answer other than 200 and 201 (a 202 says what was queued). */
  body?: unknown;
  /** The gateway's `x-cache` header, when it answered from its cache. */
  xCache?: string;
}

export interface ClientLoadArgs {
  /** Origin to send to, e.g. the router's `http://127.0.0.1:8080`. */
  target: string;
  clients: readonly SimulatedClient[];
  /** The request client `client` sends as its `seq`-th. */
  next: (client: number, seq: number) => LoadRequest;
  /** Requests per second over all clients; each client also waits for its answer (closed loop). */
  ratePerSecond: number;
  /** An answer that takes longer is a failure (no answer). Default 10 s. */
  timeoutMs?: number;
  /** The load stops by itself after this long, whatever the drill does. Default 300 s. */
  maxSeconds?: number;
  /** ... or after this many requests over all clients (a burst). Default: no such bound. */
  maxRequests?: number;
}

/** `count` simulated clients, with the keys given and source addresses 127.0.0.2 and up. */
export function simulatedClients(keys: readonly string[], count: number): SimulatedClient[] {
  if (count > 250) throw new Error("at most 250 simulated clients (one 127.0.0.x address each)");
  return Array.from({ length: count }, (_, i) => ({
    apiKey: keys[i % keys.length]!,
    sourceAddress: `127.0.0.${i + 2}`,
  }));
}

export class ClientLoad {
  private readonly args: ClientLoadArgs;
  private readonly results: Outcome[] = [];
  private readonly t0 = performance.now();
  private running = true;
  private sent = 0;
  private readonly workers: Promise<void>[];

  private constructor(args: ClientLoadArgs) {
    this.args = args;
    const deadline = this.t0 + (args.maxSeconds ?? 300) * 1000;
    this.workers = args.clients.map((c, i) => this.work(c, i, deadline));
  }

  /** Starts the clients; they send until `stop` (or `maxSeconds`). */
  static start(args: ClientLoadArgs): ClientLoad {
    return new ClientLoad(args);
  }

  /** Milliseconds since the load started, on the clock of `Outcome.at`. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** The outcomes so far (a live array: it grows while the load runs). */
  get outcomes(): readonly Outcome[] {
    return this.results;
  }

  /** Resolves when every client has stopped by itself (`maxRequests` or `maxSeconds`). */
  async done(): Promise<Outcome[]> {
    await Promise.all(this.workers);
    return this.results;
  }

  /** Stops sending, waits for the answers in flight, and returns every outcome. */
  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.workers);
    return this.results;
  }

  private async work(client: SimulatedClient, index: number, deadline: number): Promise<void> {
    const { args } = this;
    const timeoutMs = args.timeoutMs ?? 10_000;
    const conn = new Client(args.target, {
      localAddress: client.sourceAddress,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const intervalMs = (args.clients.length * 1000) / args.ratePerSecond;
    // Spread the clients over one interval so that they do not send in lockstep.
    let due = performance.now() + (intervalMs * index) / args.clients.length;
    try {
      const maxRequests = args.maxRequests ?? Infinity;
      for (let seq = 0; this.running && performance.now() < deadline; seq++) {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (!this.running || this.sent >= maxRequests) break;
        this.sent++;
        due = Math.max(due + intervalMs, performance.now());
        const req = args.next(index, seq);
        this.results.push(await this.send(conn, client, req));
      }
    } finally {
      await conn.close().catch(() => undefined);
    }
  }

  private async send(conn: Client, client: SimulatedClient, req: LoadRequest): Promise<Outcome> {
    const started = performance.now();
    const at = started - this.t0;
    try {
      const res = await conn.request({
        method: req.method,
        path: req.path,
        headers: { authorization: `Bearer ${client.apiKey}`, ...req.headers },
        body: req.body,
      });
      const text = await res.body.text();
      const ms = performance.now() - started;
      const xCache = res.headers["x-cache"];
      const outcome: Outcome = { kind: req.kind, at, ms, status: res.statusCode };
      if (typeof xCache === "string") outcome.xCache = xCache;
      if (res.statusCode !== 200 && res.statusCode !== 201) outcome.body = parseJson(text);
      return outcome;
    } catch (err) {
      const e = err as Error & { code?: string };
      return {
        kind: req.kind,
        at,
        ms: performance.now() - started,
        status: 0,
        error: e.code ?? e.name,
      };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
