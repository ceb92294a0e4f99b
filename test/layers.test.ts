import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "./pulumi/cli.ts";

// The layers of the repository, as the import graph must keep them:
//   platform/    the catalog, the env contract, the workload names: target-neutral, no Pulumi
//   services/    the processes; they and their image depend on platform/ alone
//   clients/     the client library: published on its own, it imports nothing of the rest
//                (the image carries its sources, which the web console serves to browsers)
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

  it("keeps the client library on its own: clients/ imports only clients/", () => {
    expect(sources.some((f) => f.startsWith("clients/"))).toBe(true);
    expect(violations("clients", ["clients"])).toEqual([]);
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

  it("builds the shipped stages from platform/, services/ and the client library alone", () => {
    // Earlier stages run build tools (the model fetch, the CA bundle); the `services` stage and
    // those built on it (the media variant, the default target) are what ships.
    const stages = readFileSync(join(ROOT, "Dockerfile"), "utf8").split(/^FROM /m);
    const shipped = stages.findIndex((s) => /^\S+ AS services$/m.test(s.split("\n")[0]!));
    expect(shipped).toBeGreaterThan(0);
    const copied = (stage: string) =>
      [...stage.matchAll(/^COPY (?!--from)(\S+) (\S+)/gm)]
        // A build script copied to /tmp is run and removed in the same step.
        .filter((m) => !m[2]!.startsWith("/tmp/"))
        .map((m) => top(m[1]!))
        .filter((dir) => sources.some((f) => top(f) === dir));
    expect(new Set(copied(stages[shipped]!))).toEqual(new Set(["platform", "services", "clients"]));
    for (const later of stages.slice(shipped + 1)) {
      expect(later.split("\n")[0]).toMatch(/^services( AS \w+)?$/);
      expect(copied(later)).toEqual([]);
    }
  });
});
