import { SERVERS_KEY } from "./globalSetup.ts";
import type { TestServer } from "./index.ts";

/** Jest global teardown: stops what globalSetup started. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { [SERVERS_KEY]?: TestServer[] };
  const servers = holder[SERVERS_KEY] ?? [];
  delete holder[SERVERS_KEY];
  await Promise.all(servers.map((server) => server.stop()));
}
