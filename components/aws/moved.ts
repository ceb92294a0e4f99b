import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component that now groups resources its parent declared itself before: each
 * custom resource below it keeps its state through an alias to that former parent. The history
 * stays with the parent that moved them; the component itself knows nothing of it.
 */
export function movedFrom(formerParent: pulumi.Resource): pulumi.ComponentResourceOptions {
  return {
    parent: formerParent,
    transformations: [
      ({ resource, props, opts }) =>
        resource instanceof pulumi.CustomResource
          ? { props, opts: pulumi.mergeOptions(opts, { aliases: [{ parent: formerParent }] }) }
          : undefined,
    ],
  };
}
