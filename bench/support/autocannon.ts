import { createRequire } from "node:module";
import net from "node:net";

// autocannon (a CommonJS package without types) for the throughput bench: what we use of its
// programmatic API, typed here.

interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

interface AutocannonClient {
  _connect(): void;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  timeout?: number;
  requests: {
    method: string;
    path: string;
    setupRequest: (req: AutocannonRequest) => AutocannonRequest;
  }[];
  setupClient?: (client: AutocannonClient) => void;
}

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  total: number;
}

interface AutocannonResult {
  latency: Histogram;
  requests: Histogram & { sent: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

const autocannon = createRequire(import.meta.url)("autocannon") as (
  opts: AutocannonOptions,
) => Promise<AutocannonResult>;

// autocannon connects with `net.connect(port, host)` and has no option for the source address.
// The gateways limit requests per client address, so the many clients a load test stands for
// must come from many addresses (all of 127/8 is loopback on Linux). The address a connection
// should use is set for the duration of that client's synchronous `_connect` and applied by
// this wrapper of `net.connect`; every other caller is untouched.
let bindNext: string | undefined;
// Every connection of the process gets an address no earlier run used (127.1.0.2 and up), as
// every run gets fresh API keys: a run must not inherit the per-address limits that an earlier,
// faster run spent, or a fast path would be measured by the 429s it causes.
let sourcesUsed = 0;
const nextSourceAddress = () => {
  const n = sourcesUsed++;
  return `127.1.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
};
const connect = net.connect;
net.connect = function (this: unknown, ...args: unknown[]) {
  if (bindNext !== undefined && typeof args[0] === "number") {
    return connect({ port: args[0], host: args[1] as string, localAddress: bindNext });
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.connect;

export interface LoadRunArgs {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  target: string;
  path: string;
  connections: number;
  durationSeconds: number;
  /** Headers of every request. */
  headers: Record<string, string>;
  /** API keys used in turn, one per request (the limit is per key); none: no Authorization. */
  apiKeys?: readonly string[];
  /** Each connection comes from a loopback address of its own, never used by an earlier run. */
  distinctSources: boolean;
}

export interface LoadRunResult {
  rps: number;
  p50: number;
  p99: number;
  /** Answers that are not 2xx, and requests with no answer: either makes the run invalid. */
  non2xx: number;
  errors: number;
  statuses: string;
}

/** One closed-loop autocannon run: `connections` keep-alive connections for `durationSeconds`. */
export async function loadRun(args: LoadRunArgs): Promise<LoadRunResult> {
  let nextKey = 0;
  const keys = args.apiKeys ?? [];
  const result = await autocannon({
    url: args.target,
    connections: args.connections,
    duration: args.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: "GET",
        path: args.path,
        setupRequest: (req) => ({
          ...req,
          headers:
            keys.length > 0
              ? { ...args.headers, authorization: `Bearer ${keys[nextKey++ % keys.length]}` }
              : args.headers,
        }),
      },
    ],
    setupClient: args.distinctSources
      ? (client) => {
          const address = nextSourceAddress();
          const open = client._connect;
          client._connect = function (this: AutocannonClient) {
            bindNext = address;
            try {
              open.call(this);
            } finally {
              bindNext = undefined;
            }
          };
        }
      : undefined,
  });
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    statuses: Object.entries(result.statusCodeStats)
      .map(([code, s]) => `${code}: ${s.count}`)
      .join(", "),
  };
}
