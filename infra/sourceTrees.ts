import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { services, type Catalog } from "../platform/catalog/index.ts";

// A catalog version with `source: { ref }` runs the repository's tree at that ref, not the
// checkout: its tree is exported once per commit (git archive) into a cache folder that shares
// the checkout's node_modules. `npm start` runs that version's replicas from there; the Docker
// and Kubernetes stacks build that version's image from it (workloadImages.ts). The folder is named by commit, so a ref that moves
// gets a tree of its own and an unchanged one is reused.

const run = promisify(execFile);

/** Where the trees are exported, relative to the repository (ignored by git, jest and lint). */
export const SOURCES_DIR = ".run/sources";

/** The commit a ref names in the repository at `root`, or an error that names the ref. */
export async function commitOf(root: string, ref: string): Promise<string> {
  try {
    const { stdout } = await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd: root,
    });
    return stdout.trim();
  } catch {
    throw new Error(`source ref "${ref}" is not a commit of the repository at ${root}`);
  }
}

/** The tree of `commit` under `cacheDir`, exported on first use. */
export async function exportTree(root: string, commit: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, commit);
  if (existsSync(dir)) return dir;
  mkdirSync(cacheDir, { recursive: true });
  // Exported beside its final name and renamed, so a half-written tree is never taken for one.
  const partial = mkdtempSync(join(cacheDir, `${commit}.partial-`));
  try {
    const archive = spawn("git", ["archive", "--format=tar", commit], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const untar = spawn("tar", ["-x", "-C", partial], { stdio: ["pipe", "ignore", "pipe"] });
    archive.stdout.pipe(untar.stdin);
    let failure = "";
    for (const p of [archive, untar]) p.stderr.on("data", (d: Buffer) => (failure += d.toString()));
    const exited = (p: ChildProcess) =>
      new Promise<number | null>((done) => p.once("close", (code) => done(code)));
    const [archived, untarred] = await Promise.all([exited(archive), exited(untar)]);
    if (archived !== 0 || untarred !== 0)
      throw new Error(`exporting the tree of ${commit} failed: ${failure.trim()}`);
    symlinkSync(join(root, "node_modules"), join(partial, "node_modules"));
    renameSync(partial, dir);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/**
 * Where each sourced version of the catalog runs from, keyed `<service>@<version>`; versions
 * without a source run from the checkout and are not listed.
 */
export async function sourceTrees(
  catalog: Catalog,
  root: string,
  cacheDir: string,
): Promise<Map<string, string>> {
  const trees = new Map<string, string>();
  for (const s of services(catalog)) {
    for (const v of s.versions) {
      if (!v.source) continue;
      const commit = await commitOf(root, v.source.ref).catch((err: Error) => {
        throw new Error(`${s.name} ${v.name}: ${err.message}`);
      });
      trees.set(`${s.name}@${v.name}`, await exportTree(root, commit, cacheDir));
    }
  }
  return trees;
}
