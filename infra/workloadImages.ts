import * as pulumi from "@pulumi/pulumi";
import type { BuiltImageArgs } from "../components/docker/builtImage.ts";
import { BuiltImage, variantImages } from "../components/docker/builtImage.ts";
import type { ImageVariant } from "../platform/runtimeEnv.ts";
import { SOURCES_DIR, commitOf, exportTree } from "./sourceTrees.ts";

// The images the container targets (Docker, Kubernetes) build for their workloads: one per
// variant from the checkout, and one per variant and source for a catalog version that names
// a git ref, built from that commit's tree (infra/sourceTrees.ts). A version's own image changes
// only its own containers; the others keep the checkout's.

/**
 * The commit a catalog `source` ref names and its exported tree, the build context of that
 * version's images on every target. The Pulumi program runs in the project's directory, the
 * repository the refs belong to.
 */
export function sourceTree(ref: string): {
  commit: pulumi.Output<string>;
  context: pulumi.Output<string>;
} {
  const commit = pulumi.output(commitOf(process.cwd(), ref));
  return { commit, context: commit.apply((c) => exportTree(process.cwd(), c, SOURCES_DIR)) };
}

/** What a workload runs: an image variant, from the checkout or from a git ref. */
export interface ImageNeed {
  image: ImageVariant;
  source?: string;
}

export interface WorkloadImages {
  /** The checkout's image of each variant. */
  checkout: Map<string, BuiltImage>;
  /** The image a workload runs. */
  of(need: ImageNeed): BuiltImage;
}

/**
 * `args` names and configures each build: `commit` is set for a sourced one, so that its tag can
 * say which commit it holds.
 */
export function workloadImages(
  prefix: string,
  needs: readonly ImageNeed[],
  args: (variant: string, commit?: pulumi.Output<string>) => BuiltImageArgs,
): WorkloadImages {
  const checkout = variantImages(
    prefix,
    needs.filter((n) => !n.source).map((n) => n.image),
    (variant) => args(variant),
  );
  const sourced = new Map<string, BuiltImage>();
  for (const { image, source } of needs) {
    const key = `${image}@${source}`;
    if (!source || sourced.has(key)) continue;
    const { commit, context } = sourceTree(source);
    sourced.set(
      key,
      new BuiltImage(`${prefix}-${image}-${source.replace(/[^A-Za-z0-9-]/g, "-")}`, {
        ...args(image, commit),
        context,
        ...(image === "services" ? {} : { target: image }),
      }),
    );
  }
  return {
    checkout,
    of: (need) =>
      need.source ? sourced.get(`${need.image}@${need.source}`)! : checkout.get(need.image)!,
  };
}
