import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import ts from "typescript";

// A Lambda function's code from this repository's TypeScript, without a bundler: the entry file
// and the relative modules it imports, transpiled one by one to ES modules at their own paths,
// and the npm packages they import (with their dependencies) as they are installed. The AWS SDK
// is not packed: the Node.js runtimes of Lambda carry it.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RUNTIME_PROVIDED = /^@aws-sdk\//;

export interface LambdaPackage {
  code: pulumi.asset.AssetArchive;
  /** The `handler` setting: the entry's path in the package, dot, the exported function. */
  handler: string;
}

/**
 * Packs `entry` (a path from the repository root) and what it imports; `extra` adds assets at
 * the package's root (a CA bundle, say). Throws naming the file when an import cannot be found.
 */
export function lambdaPackage(
  entry: string,
  exportName: string,
  extra: Record<string, pulumi.asset.Asset> = {},
): LambdaPackage {
  const assets: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = {
    "package.json": new pulumi.asset.StringAsset('{"type":"module"}\n'),
    ...extra,
  };
  const packages = new Set<string>();
  const pending = [resolve(ROOT, entry)];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, "utf8");
    for (const { fileName: spec } of ts.preProcessFile(source, true, true).importedFiles) {
      if (spec.startsWith(".")) pending.push(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:") && !RUNTIME_PROVIDED.test(spec))
        packages.add(packageName(spec));
    }
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: true,
      },
    });
    assets[relative(ROOT, file).replace(/\.ts$/, ".js")] = new pulumi.asset.StringAsset(outputText);
  }
  for (const [name, dir] of packageClosure([...packages])) {
    assets[`node_modules/${name}`] = new pulumi.asset.FileArchive(dir);
  }
  return {
    code: new pulumi.asset.AssetArchive(assets),
    handler: `${entry.replace(/\.ts$/, "")}.${exportName}`,
  };
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * The installed folders of `names` and of everything they depend on, hoisted ones only: a
 * package nested in another's node_modules travels inside that one's folder.
 */
function packageClosure(names: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (name: string, from: string) => {
    const dir = installedDir(name, from);
    if (found.has(name) || dir !== join(ROOT, "node_modules", name)) return;
    found.set(name, dir);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of names) visit(name, ROOT);
  return found;
}

/** Where Node would find `name` from `from`: the nearest node_modules up the tree that has it. */
function installedDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`lambdaPackage: ${name} is not installed (npm ci)`);
  }
}
