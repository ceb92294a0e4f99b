// `npm run start:postgres`: `npm start` with every store on a PostgreSQL of its own, started from
// Debian's packages (`bash scripts/test-servers/install.sh` installs them) the way the test
// suite starts it, for what needs PostgreSQL itself: the workflow engine's queue (pg-boss) and
// schedules. The server lives as long as the command, in a temporary directory that its end
// removes, so nothing outlives a try; set DATABASE_URL and run `npm start` to keep data.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createDatabase, startPostgres } from "../test/servers/index.ts";

const postgres = await startPostgres();
const url = await createDatabase("platform", postgres.url);
console.log(`PostgreSQL for this run at ${url} (removed when it stops)`);
const platform = spawn(process.execPath, ["stacks/local/run.ts", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, DATABASE_URL: url },
});
// Ctrl-C reaches the whole process group; the runner drains and exits, then the server stops.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);
const [code] = (await once(platform, "exit")) as [number | null];
await postgres.stop();
process.exit(code ?? 1);
