import { execFile } from "node:child_process";
import { join } from "node:path";
import type { CatalogInput, UpgradePolicy } from "../../platform/catalog/schema.ts";
import { bucketOf, versionOfBucket, type Weights } from "../../services/gateway/versionRouter.ts";
import { withOrders } from "./catalogVariants.ts";
import { createUserKey } from "./users.ts";

// The upgrade scenario shared by test/e2e/upgrade.test.ts and bench/upgrade.ts: orders v2 as a
// build of its own (a commit whose orders answer one field more), v3 failing on purpose, and
// users spread over the version router's buckets.

/** The field orders v2's build adds to every order it answers. */
export const V2_FIELD = "fulfilment";

/**
 * A commit whose orders answer `V2_FIELD`, made as a release branch would be but without touching
 * the checkout or any ref: its objects go in the repository's store, its id is the source ref.
 */
export async function ordersV2Commit(root: string, workDir: string): Promise<string> {
  const git = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) =>
    new Promise<string>((ok, fail) => {
      const child = execFile(
        "git",
        args,
        { cwd: root, env: { ...process.env, ...env } },
        (err, stdout) => (err ? fail(err) : ok(stdout.trim())),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  // The answer and its published schema change together, as in a release: the tests hold every
  // answer to its operation's schema (services/shared/answerCheck.ts).
  const edits: [path: string, line: string, added: string][] = [
    ["services/orders/store.ts", '  object: "order",\n', `  ${V2_FIELD}: "standard",\n`],
    [
      "services/orders/contract.ts",
      '    object: z.literal("order"),\n',
      `    ${V2_FIELD}: z.string(),\n`,
    ],
  ];
  const index = { GIT_INDEX_FILE: join(workDir, "index") };
  await git(["read-tree", "HEAD"], index);
  for (const [path, line, added] of edits) {
    const original = await git(["show", `HEAD:${path}`]);
    const changed = original.replace(line, line + added);
    if (changed === original) throw new Error(`${path} no longer has the line v2 changes`);
    const blob = await git(["hash-object", "-w", "--stdin"], {}, changed + "\n");
    await git(["update-index", "--cacheinfo", `100644,${blob},${path}`], index);
  }
  const tree = await git(["write-tree"], index);
  const who = {
    GIT_AUTHOR_NAME: "upgrade scenario",
    GIT_AUTHOR_EMAIL: "upgrade-scenario@example.com",
    GIT_COMMITTER_NAME: "upgrade scenario",
    GIT_COMMITTER_EMAIL: "upgrade-scenario@example.com",
  };
  return git(["commit-tree", tree, "-p", "HEAD", "-m", "orders v2: answers its fulfilment"], who);
}

const ORDERS_VERSIONS = ["v1", "v2", "v3"];

/** The default catalog with orders v1 (all traffic), v2 from `v2Ref`, and v3 failing every call. */
export function upgradeCatalog(v2Ref: string, upgrade: Partial<UpgradePolicy> = {}): CatalogInput {
  return withOrders({
    versions: [
      { name: "v1", weight: 100 },
      { name: "v2", weight: 0, source: { ref: v2Ref } },
      { name: "v3", weight: 0, env: { FAULT_ERROR_RATE: "1" } },
    ],
    upgrade,
  });
}

/**
 * API keys of new users, made with an admin key through the router, until there are `count` and,
 * for each canary's first step (the weights it sets and the version it tries), at least `early`
 * of them are routed to that version: a first step no client reaches proves nothing.
 */
export async function spreadUsers(
  url: string,
  admin: string,
  opts: { count: number; early: number; firstSteps: { to: string; weights: Weights }[] },
): Promise<string[]> {
  const keys: string[] = [];
  const early = opts.firstSteps.map(() => 0);
  const enough = () => early.every((n) => n >= opts.early);
  for (let i = 0; keys.length < opts.count || !enough(); i++) {
    if (i >= 200) throw new Error(`200 users and only ${early.join(", ")} in the first steps`);
    const { userId, key } = await createUserKey(url, admin, i);
    keys.push(key);
    const bucket = bucketOf(userId, "orders");
    opts.firstSteps.forEach(({ to, weights }, s) => {
      if (versionOfBucket(bucket, ORDERS_VERSIONS, weights) === to) early[s]!++;
    });
  }
  return keys;
}

/**
 * Clients that keep creating and reading orders through `url`, each as a user of its own, until
 * stopped: what they saw fail, and how many of their reads carried `V2_FIELD`.
 */
export function orderClients(url: string, keys: string[]) {
  const api = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const seen = { requests: 0, failed: [] as string[], withField: 0, reads: 0 };
  // A failure is told with the phase it happened in (`phase`), and what the answer said.
  let phase = "";
  const fail = (what: string) => seen.failed.push(phase ? `${phase}: ${what}` : what);
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const key = keys[i % keys.length]!;
      try {
        const made = await api(key, "POST", "/v1/orders", { item: "pen", quantity: 1 });
        seen.requests++;
        if (made.status !== 201) {
          fail(`POST ${made.status} ${JSON.stringify(made.body).slice(0, 120)}`);
          continue;
        }
        const read = await api(key, "GET", `/v1/orders/${made.body["id"] as string}`);
        seen.requests++;
        if (read.status !== 200)
          fail(`GET ${read.status} ${JSON.stringify(read.body).slice(0, 120)}`);
        else {
          seen.reads++;
          if (V2_FIELD in read.body) seen.withField++;
        }
      } catch (err) {
        fail(`error ${(err as Error).message}`);
      }
      // About 15 requests a second: under the per-address limit all these clients share.
      await new Promise((ok) => setTimeout(ok, 120));
    }
  })();
  return {
    seen,
    reset: () => Object.assign(seen, { requests: 0, failed: [], withField: 0, reads: 0 }),
    /** Names what the clients live through from now on, for the failures they record. */
    enter: (name: string) => void (phase = name),
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}
