import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface LocalImageArgs {
  /** Build context directory, relative to the Pulumi project. Default ".". */
  context?: pulumi.Input<string>;
  /** Dockerfile path. Default: `Dockerfile` in the context. */
  dockerfile?: pulumi.Input<string>;
  /** Local name and tag of the image, e.g. `platform/services:local`. */
  imageName: pulumi.Input<string>;
  /** `ARG` values for the build, e.g. `{ NODE_IMAGE: "local/node:24" }`. */
  buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Network of the build's RUN steps (`host` on engines without a bridge). Default: the engine's. */
  buildNetwork?: pulumi.Input<string>;
}

/**
 * An image built from a Dockerfile on the engine itself and never pushed: the local stack needs
 * no registry. Containers should run `imageRef`, which changes with every build, so that a new
 * image replaces them; the tag alone would not.
 */
export class LocalImage extends pulumi.ComponentResource {
  /** Name and tag the image was built as. */
  readonly imageName: pulumi.Output<string>;
  /** The image by digest, unique per build. */
  readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: LocalImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:docker:LocalImage", name, {}, opts);

    const image = new docker.Image(
      name,
      {
        imageName: args.imageName,
        skipPush: true,
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
