import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

// Users of a running topology, each with an API key of their own, made as an operator makes them:
// an admin key from the auth service's command, then the public API.

/** An admin key for the topology whose auth service stores in `databaseUrl`. */
export async function adminKey(root: string, databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, "services/auth/createAdminKey.ts")],
    { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, NODE_OPTIONS: "" } },
  );
  return (JSON.parse(stdout) as { key: string }).key;
}

/** A new user `client-<n>` and an API key of theirs, made through the router with `admin`. */
export async function createUserKey(
  url: string,
  admin: string,
  n: number,
): Promise<{ userId: string; key: string }> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const user = await post("/v1/users", { email: `client-${n}@example.com`, name: `client ${n}` });
  const key = await post("/v1/auth/keys", { name: `client-${n}`, userId: user["id"] });
  return { userId: user["id"] as string, key: key["key"] as string };
}
