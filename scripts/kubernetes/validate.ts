import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// `node scripts/kubernetes/validate.ts FILE.yaml`: checks every object of a multi-document YAML
// stream against the Kubernetes OpenAPI schema, with the model class kubernetes-models generates
// for its apiVersion and kind. Prints one line per invalid object and exits 1 if there is one.
// Custom resources the stack declares are checked against their operator's CRD schema
// (`crdModels`). kubernetes-models is ESM only, which Jest's CommonJS runtime cannot load: tests
// run this script as a child process.

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** The model package of each custom resource group the stack may declare (KEDA's ScaledObject). */
const crdModels: Record<string, string> = { "keda.sh": "@kubernetes-models/keda" };
const modelPackage = (apiVersion: string) =>
  crdModels[apiVersion.split("/")[0]!] ?? "kubernetes-models";

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/kubernetes/validate.ts FILE.yaml");
  process.exit(2);
}

const problems: string[] = [];
let count = 0;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  if (doc.errors.length > 0) {
    problems.push(`YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  const object = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  if (object === null) continue;
  count++;
  const label = `${object.kind ?? "?"}/${object.metadata?.name ?? "?"}`;
  if (!object.apiVersion || !object.kind) {
    problems.push(`${label}: apiVersion and kind are required`);
    continue;
  }
  let Model: ModelClass;
  try {
    const module = (await import(
      `${modelPackage(object.apiVersion)}/${object.apiVersion}/${object.kind}`
    )) as Record<string, ModelClass>;
    Model = module[object.kind]!;
  } catch {
    problems.push(`${label}: no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (err) {
    problems.push(`${label}: ${(err as Error).message.replace(/\s+/g, " ")}`);
  }
}

for (const p of problems) console.log(`invalid ${p}`);
console.log(`${count - problems.length} of ${count} objects valid`);
process.exit(problems.length > 0 ? 1 : 0);
