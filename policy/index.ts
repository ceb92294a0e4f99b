import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules.ts";

// The CrossGuard entry point: `pulumi preview --policy-pack policy` starts this module, and the
// PolicyPack constructor serves the policies to the engine. Tests import ./rules.ts instead.
new PolicyPack("platform", { policies, enforcementLevel: "mandatory" });
