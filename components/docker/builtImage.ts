import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface BuiltImageArgs {
  /** Build context directory, relative to the Pulumi project. Default ".". */
  context?: pulumi.Input<string>;
  /** Dockerfile path. Default: `Dockerfile` in the context. */
  dockerfile?: pulumi.Input<string>;
  /**
   * Name and tag: a local one (`platform/services:local`) or, to push, a repository
   * (`ghcr.io/acme/platform-services:latest`).
   */
  imageName: pulumi.Input<string>;
  /**
   * Push to `imageName`'s registry with the engine's own login (`docker login`), for clusters
   * that pull from it. Default false: the local Docker stack needs no registry.
   */
  push?: boolean;
  /** The Dockerfile stage to build (`media`); default the last one. */
  target?: pulumi.Input<string>;
  /** `ARG` values for the build, e.g. `{ NODE_IMAGE: "local/node:24" }`. */
  buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Network of the build's RUN steps (`host` on engines without a bridge). Default: the engine's. */
  buildNetwork?: pulumi.Input<string>;
}

/** The type tokens this component had before (test/pulumi/aliases.test.ts deploys under them). */
export const formerTypes = ["platform:docker:LocalImage", "platform:docker:PushedImage"] as const;

/**
 * An image built from a Dockerfile on the local engine, and pushed when asked. Workloads should
 * run `imageRef` (the image by digest): it changes with every build, so a new image replaces
 * them, and a node never runs a stale image under a reused tag.
 */
export class BuiltImage extends pulumi.ComponentResource {
  /** Name and tag the image was built as. */
  readonly imageName: pulumi.Output<string>;
  /** The image by digest, unique per build. */
  readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: BuiltImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Released first as two components (the local one and the pushed one): the aliases keep
    // the state of stacks deployed with either, so the rename replaces nothing.
    super(
      "platform:docker:BuiltImage",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), ...formerTypes.map((type) => ({ type }))],
      },
    );

    const image = new docker.Image(
      name,
      {
        imageName: args.imageName,
        skipPush: !args.push,
        build: {
          context: args.context ?? ".",
          dockerfile: args.dockerfile,
          args: args.buildArgs,
          network: args.buildNetwork,
          target: args.target,
        },
      },
      { parent: this },
    );

    this.imageName = image.imageName;
    this.imageRef = image.repoDigest;
    this.registerOutputs({ imageName: this.imageName, imageRef: this.imageRef });
  }
}

/**
 * The images a plan's containers run, one per variant it uses: `<prefix>-services` from the
 * Dockerfile's default target, and `<prefix>-<variant>` from that target (`media`). `args` gives
 * each its name and build settings.
 */
export function variantImages(
  prefix: string,
  variants: Iterable<string>,
  args: (variant: string) => BuiltImageArgs,
): Map<string, BuiltImage> {
  const images = new Map<string, BuiltImage>();
  for (const variant of new Set(["services", ...variants])) {
    const target = variant === "services" ? {} : { target: variant };
    images.set(variant, new BuiltImage(`${prefix}-${variant}`, { ...args(variant), ...target }));
  }
  return images;
}
