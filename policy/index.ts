import { PolicyPack } from "@pulumi/policy";
import { kubernetesPolicies } from "./kubernetes.ts";
import { policies } from "./rules.ts";

// The CrossGuard entry point: `pulumi preview --policy-pack policy` starts this module, and the
// PolicyPack constructor serves the policies to the engine: the AWS rules (rules.ts) and the
// Kubernetes ones (kubernetes.ts); each matches only its own resource types. Tests import those.
new PolicyPack("platform", {
  policies: [...policies, ...kubernetesPolicies],
  enforcementLevel: "mandatory",
});
