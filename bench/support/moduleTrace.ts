import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { relative, resolve } from "node:path";

// Preloaded (`--import`) into every process of a topology by bench/memory.ts: records which
// packages the project's own code imports, and how many module files the process loads in all,
// and writes them to MODULE_TRACE_DIR when the process exits. Kept out of the measured run: the
// figures of memory come from a run without it.

const root = resolve(import.meta.dirname, "../..");
const outDir = process.env["MODULE_TRACE_DIR"];
const direct = new Set<string>();
let files = 0;

const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

if (outDir) {
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      const parent = context.parentURL;
      if (parent?.startsWith("file:") && !packageOf(parent)) {
        const pkg = packageOf(resolved.url);
        if (pkg) direct.add(pkg);
      }
      return resolved;
    },
    load(url, context, next) {
      if (!url.startsWith("node:")) files++;
      return next(url, context);
    },
  });
  process.on("exit", () => {
    const program = relative(root, process.argv[1] ?? "");
    writeFileSync(
      `${outDir}/${process.pid}.json`,
      JSON.stringify({ program, packages: [...direct].sort(), files }),
    );
  });
}
