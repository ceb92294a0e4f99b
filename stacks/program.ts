import * as pulumi from "@pulumi/pulumi";
import type { Catalog } from "../platform/catalog/index.ts";
import { services } from "../platform/catalog/index.ts";
import { stackSettings } from "../infra/stackConfig.ts";
import { deploy as deployAws } from "./aws.ts";
import { deploy as deployDocker } from "./docker.ts";
import { deploy as deployKubernetes } from "./kubernetes.ts";
import type { StackOutputs } from "./outputs.ts";

/**
 * The whole Pulumi program for one catalog: validate the stack's settings, then build the
 * target they name. index.ts runs it for `pulumi up`; the mock harness runs the same function.
 */
export function program(catalog: Catalog): StackOutputs {
  const { target } = stackSettings();
  // A deployed version must run what its source names, never the checkout by mistake: the
  // container targets build an image per source; AWS does not yet.
  const sourced = services(catalog).flatMap((s) =>
    s.versions.filter((v) => v.source).map((v) => `${s.name} ${v.name} (${v.source!.ref})`),
  );
  if (sourced.length > 0 && target === "aws")
    throw new pulumi.RunError(
      `catalog: ${sourced.join(", ")} names a source ref; the ${target} target does not build an image per source yet (issue #19), only \`npm start\` runs such a version`,
    );
  switch (target) {
    case "aws":
      return deployAws(catalog);
    case "docker":
      return deployDocker(catalog);
    case "kubernetes":
      return deployKubernetes(catalog);
  }
}
