import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./pulumi/cli.ts";

// Every package the project declares is one that something loads, so that `npm ci` installs no
// dead weight and a reader of package.json can trust it (http-proxy-middleware sat in the
// dependencies imported by nothing). A package counts as used when a source or config file names
// it as a module specifier (import, dynamic import, require, or a string such as jest's
// transform), when a script of package.json runs its command, or, for `@types/x`, when x is used
// or is Node's or Jest's own.

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Packages used through a command of another name, and the command. */
const commands: Record<string, string> = { typescript: "tsc" };
/** Packages that another package loads by name, as its peer: which one, and why it is ours. */
const peers: Record<string, string> = {
  // @swc/jest transforms with @swc/core, which it declares as a peer for us to pin.
  "@swc/core": "@swc/jest",
};

const sources = execFileSync(
  "git",
  [
    "ls-files",
    "--cached",
    "--others",
    "--exclude-standard",
    "-z",
    "*.ts",
    "*.js",
    "*.cjs",
    "*.mjs",
  ],
  { cwd: ROOT, encoding: "utf8" },
)
  .split("\0")
  // This file names packages itself.
  .filter((f) => f !== "" && f !== "test/dependencies.test.ts")
  .map((f) => {
    try {
      return readFileSync(join(ROOT, f), "utf8");
    } catch {
      return ""; // listed by git, deleted in the working tree
    }
  })
  .join("\n");

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const named = (pkg: string) => new RegExp(`["'\`]${escape(pkg)}(/[^"'\`]*)?["'\`/]`).test(sources);
const scripts = Object.values(manifest.scripts).join("\n");
const runs = (pkg: string) =>
  new RegExp(`(^|[\\s&|;(])(npx )?${escape(commands[pkg] ?? pkg)}(\\s|$)`, "m").test(scripts);

function used(pkg: string): boolean {
  if (named(pkg) || runs(pkg)) return true;
  if (peers[pkg]) return used(peers[pkg]);
  const typed = /^@types\/(.+)$/.exec(pkg)?.[1];
  if (typed) return ["node", "jest"].includes(typed) || used(typed);
  return false;
}

const declared = [
  ...Object.keys(manifest.dependencies),
  ...Object.keys(manifest.devDependencies),
].sort();

it.each(declared)("%s is used by something in the repository", (pkg) => {
  expect(used(pkg)).toBe(true);
});

it("would catch a package that nothing loads", () => {
  expect(used(["no", "such", "package"].join("-"))).toBe(false);
});
