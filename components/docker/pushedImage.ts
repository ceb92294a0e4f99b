import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface PushedImageArgs {
  /** Build context directory, relative to the Pulumi project. Default ".". */
  context?: pulumi.Input<string>;
  /** Dockerfile path. Default: `Dockerfile` in the context. */
  dockerfile?: pulumi.Input<string>;
  /** Repository and tag to push, e.g. `ghcr.io/acme/platform-services:latest`. */
  imageName: pulumi.Input<string>;
  /** `ARG` values for the build, e.g. `{ NODE_IMAGE: "node:24-bookworm-slim" }`. */
  buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Network of the build's RUN steps (`host` on engines without a bridge). Default: the engine's. */
  buildNetwork?: pulumi.Input<string>;
}

/**
 * An image built on the local engine and pushed, with the engine's own login (`docker login`),
 * to a registry that a cluster pulls from.
 * Workloads should run `imageRef` (repository@sha256:digest): it changes with every push, so a
 * new image rolls the workloads, and a node never runs a stale image under a reused tag.
 */
export class PushedImage extends pulumi.ComponentResource {
  readonly imageName: pulumi.Output<string>;
  /** The pushed image by digest. */
  readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: PushedImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:docker:PushedImage", name, {}, opts);

    const image = new docker.Image(
      name,
      {
        imageName: args.imageName,
        build: {
          context: args.context ?? ".",
          dockerfile: args.dockerfile,
          args: args.buildArgs,
          network: args.buildNetwork,
        },
      },
      { parent: this },
    );

    this.imageName = image.imageName;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ imageName: this.imageName, imageRef: this.imageRef });
  }
}
