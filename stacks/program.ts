import type { Catalog } from "../platform/catalog/index.ts";
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
  switch (target) {
    case "aws":
      return deployAws(catalog);
    case "docker":
      return deployDocker(catalog);
    case "kubernetes":
      return deployKubernetes(catalog);
  }
}
