import { stringify } from "yaml";
import type { ResourceRecord } from "./records.ts";
import { secretMark } from "./records.ts";

// The Kubernetes objects of a planned stack (the mock harness's records) as the manifests the
// provider would apply, so that they can be checked against the Kubernetes schemas without a
// cluster (scripts/kubernetes/validate.ts).

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string };

/** One manifest per recorded `kubernetes:*` resource, in registration order. */
export function manifestsOf(records: readonly ResourceRecord[]): Manifest[] {
  return records
    .filter((r) => r.type.startsWith("kubernetes:"))
    .map((r) => {
      const { apiVersion, kind } = r.inputs;
      if (typeof apiVersion !== "string" || typeof kind !== "string")
        throw new Error(`${r.urn}: no apiVersion/kind in the recorded inputs`);
      const manifest = { ...r.inputs } as Manifest;
      // Pulumi holds a Secret's whole payload as one secret value: it is never rendered.
      for (const field of ["data", "stringData"])
        if (manifest[field] === secretMark) manifest[field] = {};
      return manifest;
    });
}

/** A multi-document YAML stream, as `kubectl apply -f` reads it. */
export function toYaml(manifests: readonly Manifest[]): string {
  return manifests.map((m) => stringify(m, { sortMapEntries: false })).join("---\n");
}
