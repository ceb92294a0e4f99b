import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { INSTALL_HINT, freePort, makeTempDir, spawnServer, which } from "./process.ts";
import type { TestServer } from "./process.ts";

export interface RedisServerArgs {
  /** Loopback port; default: a free one. */
  port?: number;
  /** Default 15 s. */
  startTimeoutMs?: number;
}

async function ping(url: string): Promise<void> {
  // One attempt per probe: spawnServer does the retrying and knows when the process died.
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const answer = await client.ping();
    if (answer !== "PONG") throw new Error(`PING answered ${answer}`);
  } finally {
    client.disconnect();
  }
}

/** Starts a real redis-server on 127.0.0.1, without persistence, in a fresh temp dir. */
export async function startRedis(args: RedisServerArgs = {}): Promise<TestServer> {
  const binary = which("redis-server");
  if (binary === undefined) {
    throw new Error(
      `redis-server is not installed: ${INSTALL_HINT} (or 'apt-get install redis-server')`,
    );
  }
  const port = args.port ?? (await freePort());
  const dir = await makeTempDir("redis");
  const config = join(dir, "redis.conf");
  await writeFile(
    config,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      // Test data is thrown away: no RDB snapshots nor AOF to slow the tests or fill the disk.
      'save ""',
      "appendonly no",
      "daemonize no",
      "",
    ].join("\n"),
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = await spawnServer({
    name: "redis",
    command: binary,
    args: [config],
    dir,
    logFile: join(dir, "redis.log"),
    stopSignal: "SIGTERM",
    ready: () => ping(url),
    startTimeoutMs: args.startTimeoutMs ?? 15_000,
  });
  return { url, stop };
}
