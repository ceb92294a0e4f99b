import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./pulumi/cli.ts";

// The layers of the repository, as the import graph must keep them:
//   platform/    the catalog, the env contract, the workload names: target-neutral, no Pulumi
//   services/    the processes; they and their image depend on platform/ alone
//   infra/, components/, stacks/   the deploy targets, above both
// A service that imported infra/ would pull deploy-time code (and its packages) into the image,
// and a platform module that imported a target would make "neutral" a word, not a fact.

const sources = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
  cwd: ROOT,
  encoding: "utf8",
})
  .split("\n")
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

/** Every relative module a file imports, as a path from the repository's root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]!);
  return specifiers.map((s) => normalize(join(dirname(file), s)));
}

/** Packages a file imports by name. */
function packagesOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^".][^"]*)"/g)].map((m) => m[1]!);
}

const top = (path: string) => path.split("/")[0]!;

function violations(layer: string, allowed: readonly string[]): string[] {
  return sources
    .filter((f) => top(f) === layer)
    .flatMap((f) =>
      importsOf(f)
        .filter((target) => !allowed.includes(top(target)))
        .map((target) => `${f} imports ${relative(ROOT, join(ROOT, target))}`),
    );
}

describe("the layers of the repository", () => {
  it("has services that import only services/ and platform/", () => {
    expect(sources.some((f) => f.startsWith("services/"))).toBe(true);
    expect(violations("services", ["services", "platform"])).toEqual([]);
  });

  it("keeps platform/ target-neutral: it imports only itself and no Pulumi package", () => {
    expect(sources.some((f) => f.startsWith("platform/"))).toBe(true);
    expect(violations("platform", ["platform"])).toEqual([]);
    const pulumi = sources
      .filter((f) => top(f) === "platform")
      .flatMap((f) =>
        packagesOf(f)
          .filter((p) => p.startsWith("@pulumi/"))
          .map((p) => `${f}: ${p}`),
      );
    expect(pulumi).toEqual([]);
  });

  it("builds the service image's last stage from platform/ and services/ alone", () => {
    // Earlier stages run build tools (the model fetch, the CA bundle); only the last one ships.
    const stages = readFileSync(join(ROOT, "Dockerfile"), "utf8").split(/^FROM /m);
    // A build script copied to /tmp is run and removed in the same step.
    const sourcesCopied = [...stages.at(-1)!.matchAll(/^COPY (?!--from)(\S+) (\S+)/gm)]
      .filter((m) => !m[2]!.startsWith("/tmp/"))
      .map((m) => top(m[1]!))
      .filter((dir) => sources.some((f) => top(f) === dir));
    expect(new Set(sourcesCopied)).toEqual(new Set(["platform", "services"]));
  });
});
