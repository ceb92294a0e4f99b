import { PolicyPack } from "@pulumi/policy";
import { kubernetesPolicies } from "./kubernetes.ts";
import { policies } from "./rules.ts";

// The CrossGuard entry point: `pulumi preview --policy-pack policy` starts this module, and the
// PolicyPack constructor serves the policies to the engine: the AWS rules (rules.ts) and the
// Kubernetes ones (kubernetes.ts); each matches only its own resource types. Tests import those.
//
// Plain JavaScript on purpose. @pulumi/pulumi's policy runner registers its vendored ts-node
// (7.0.1) for `.ts` files whatever PulumiPolicy.yaml says, and ts-node cannot compile this
// project's `.ts` imports (TS5096: allowImportingTsExtensions needs noEmit, which it overrides).
// An entry it does not handle loads as an ES module, and Node 24 strips the types of the rule
// modules itself, as it does for the program (test/pulumi/policyPack.test.ts runs the real CLI).
new PolicyPack("platform", {
  policies: [...policies, ...kubernetesPolicies],
  enforcementLevel: "mandatory",
});
