import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";

export interface ServiceImageArgs {
  /**
   * Build context directory (the repository root). Its `.dockerignore` must be an allowlist
   * (`*`, then `!path` lines, then extension exclusions such as the test files): the image tag
   * digests exactly the files it lets through (`imageTag`).
   */
  context: string;
  /** Build arguments, e.g. the base image. */
  buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Dockerfile targets built beside the default one and pushed to the same repository, each
   * under the default's tag suffixed `-<target>` (e.g. `media`). Default none.
   */
  variants?: readonly string[];
  /** Untagged images are expired after this many days. Default 7. */
  untaggedExpiryDays?: number;
  /** Tagged images kept in the repository. Default 30. */
  keepTaggedImages?: number;
  /** Lets `pulumi destroy` delete the repository with its images in it. Default false. */
  forceDelete?: boolean;
  tags?: Record<string, string>;
  /**
   * Other trees to build, by name (a catalog version's source ref): each is the context of a
   * repository at another commit, built for the Dockerfile targets listed (`services` is the
   * default one) and pushed to the same repository under a tag that digests its own content.
   * Default none.
   */
  sources?: Record<string, { context: pulumi.Input<string>; variants: readonly string[] }>;
}

// Turns an allowlist's exclusions (a `**` directory glob then `*.ext`, or one file's exact path) into a test.
function excluded(patterns: string[]): (path: string) => boolean {
  const tests = patterns.map((p) => {
    const m = /^\*\*\/\*(\.[\w.-]+)$/.exec(p);
    if (m) return (path: string) => path.endsWith(m[1]!);
    if (/^[\w./-]+$/.test(p) && !p.includes("*")) return (path: string) => path === p;
    throw new Error(`.dockerignore: cannot interpret "${p}" (only **/*.ext and exact file paths)`);
  });
  return (path) => tests.some((t) => t(path));
}

/**
 * SHA-256 over the paths, modes and contents (a link's target) of the files an allowlist
 * `.dockerignore` admits, plus the Dockerfile: the same sources always give the same digest, and
 * any change the docker provider's own context hash sees (it hashes file modes too) gives a new one.
 */
export function contextDigest(context: string): string {
  const lines = readFileSync(join(context, ".dockerignore"), "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines[0] !== "*") throw new Error(".dockerignore must be an allowlist starting with `*`");
  const roots = lines.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
  const skip = excluded(lines.slice(1).filter((l) => !l.startsWith("!")));
  const files: string[] = ["Dockerfile"];
  const walk = (path: string) => {
    if (statSync(join(context, path)).isDirectory()) {
      for (const entry of readdirSync(join(context, path))) walk(join(path, entry));
    } else if (!skip(path)) files.push(path);
  };
  roots.forEach(walk);
  const hash = createHash("sha256");
  for (const file of [...new Set(files)].sort()) {
    const full = join(context, file);
    const info = lstatSync(full);
    hash.update(`${file}\0${info.mode.toString(8)}\0`);
    hash.update(info.isSymbolicLink() ? readlinkSync(full) : readFileSync(full));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** What the docker provider builds from, besides the context's files. */
export interface ImageBuild {
  context: string;
  dockerfile: string;
  platform: string;
  args: Record<string, string>;
}

/**
 * The image's tag: a digest of every input on which the docker provider rebuilds (the context's
 * files and modes, the Dockerfile, its path and the context's, the platform, the build args).
 * The repository's tags are immutable, so a rebuild under an old tag would be a push ECR
 * refuses; with this tag, a rebuild always pushes a new one.
 */
export function imageTag(build: ImageBuild): string {
  const args = Object.fromEntries(
    Object.entries(build.args).sort(([a], [b]) => a.localeCompare(b)),
  );
  return createHash("sha256")
    .update(JSON.stringify({ files: contextDigest(build.context), ...build, args }))
    .digest("hex")
    .slice(0, 16);
}

/** An ECR image pinned by digest: account, region (and domain), repository, digest. */
export const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.(amazonaws\.com(?:\.cn)?)\/([a-z0-9][a-z0-9._/-]*)@sha256:[0-9a-f]{64}$/;

/** What the task definitions need of an image: where it is, and the repository to allow pulls from. */
export interface DeployableImage {
  imageUri: pulumi.Output<string>;
  /** The variants (Dockerfile targets, e.g. `media`) by name, each pinned by digest. */
  variantUris: Record<string, pulumi.Output<string>>;
  repositoryArn: pulumi.Output<string>;
  repositoryUrl: pulumi.Output<string>;
  /** The images of `ServiceImageArgs.sources`: by source, then by variant, each pinned by digest. */
  sourceUris?: Record<string, Record<string, pulumi.Output<string>>>;
}

/**
 * An image some pipeline already pushed (`platform:serviceImage`), with its variants
 * (`platform:mediaImage`), as ServiceImage's outputs.
 */
export function pushedImage(uri: string, variants: Record<string, string> = {}): DeployableImage {
  const m = ECR_IMAGE.exec(uri);
  if (!m) throw new Error(`not an ECR image pinned by digest: ${uri}`);
  const [, account, region, domain, repository] = m;
  const partition = domain!.endsWith(".cn")
    ? "aws-cn"
    : region!.startsWith("us-gov-")
      ? "aws-us-gov"
      : "aws";
  return {
    imageUri: pulumi.output(uri),
    variantUris: Object.fromEntries(
      Object.entries(variants).map(([name, v]) => [name, pulumi.output(v)]),
    ),
    repositoryArn: pulumi.output(
      `arn:${partition}:ecr:${region}:${account}:repository/${repository}`,
    ),
    repositoryUrl: pulumi.output(uri.split("@")[0]!),
  };
}

/**
 * A private ECR repository and the image built from the repository's Dockerfile and pushed to
 * it under a tag that digests its build inputs. One image holds every program (the task's command picks which
 * one runs), so one build serves every service and tier.
 */
export class ServiceImage extends pulumi.ComponentResource implements DeployableImage {
  /** The tag the image was pushed under: a digest of everything its build depends on. */
  public readonly tag: pulumi.Output<string>;
  public readonly repositoryArn: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;
  /** `repository@sha256:...`: pinned by content, so a task definition changes only when the image does. */
  public readonly imageUri: pulumi.Output<string>;
  public readonly variantUris: Record<string, pulumi.Output<string>>;
  public readonly sourceUris: Record<string, Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:ServiceImage", name, {}, opts);
    const parent = { parent: this };

    const repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        imageScanningConfiguration: { scanOnPush: true },
        // A tag digests every build input (imageTag), so a tag never needs to move; tasks also
        // pin the pushed digest, so what runs is always the image that was scanned.
        imageTagMutability: "IMMUTABLE",
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        forceDelete: args.forceDelete ?? false,
        tags: args.tags ?? {},
      },
      parent,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: "expire untagged images",
              selection: {
                tagStatus: "untagged",
                countType: "sinceImagePushed",
                countUnit: "days",
                countNumber: args.untaggedExpiryDays ?? 7,
              },
              action: { type: "expire" },
            },
            {
              rulePriority: 2,
              description: "keep the most recent tagged images",
              selection: {
                tagStatus: "any",
                countType: "imageCountMoreThan",
                countNumber: args.keepTaggedImages ?? 30,
              },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );

    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, parent);
    /** Builds the tree at `context` and pushes it for `target` (the default one: `services`). */
    const push = (resource: string, context: pulumi.Input<string>, target: string) => {
      const build = pulumi.output(context).apply((dir) => ({
        context: dir,
        dockerfile: join(dir, "Dockerfile"),
        platform: "linux/amd64",
      }));
      const tag = pulumi
        .all([build, args.buildArgs ?? {}])
        .apply(([b, buildArgs]) => imageTag({ ...b, args: buildArgs }));
      const suffix = target === "services" ? "" : `-${target}`;
      const image = new docker.Image(
        resource,
        {
          imageName: pulumi.interpolate`${repository.repositoryUrl}:${tag}${suffix}`,
          build: build.apply((b) => ({
            ...b,
            args: args.buildArgs,
            ...(target === "services" ? {} : { target }),
          })),
          registry: {
            server: repository.repositoryUrl,
            username: auth.userName,
            password: pulumi.secret(auth.password),
          },
        },
        parent,
      );
      return { image, tag };
    };
    const { image, tag } = push(`${name}-image`, args.context, "services");
    this.variantUris = Object.fromEntries(
      (args.variants ?? []).map((v) => [
        v,
        push(`${name}-image-${v}`, args.context, v).image.repoDigest,
      ]),
    );
    // A version's own build: resources named by its ref, so a second ref is a second image.
    this.sourceUris = Object.fromEntries(
      Object.entries(args.sources ?? {}).map(([ref, { context, variants }]) => [
        ref,
        Object.fromEntries(
          variants.map((v) => [
            v,
            push(`${name}-image-${v}@${ref.replace(/[^A-Za-z0-9._-]/g, "-")}`, context, v).image
              .repoDigest,
          ]),
        ),
      ]),
    );
    this.tag = tag;
    this.repositoryArn = repository.arn;
    this.repositoryUrl = repository.repositoryUrl;
    this.imageUri = image.repoDigest;
    this.registerOutputs({
      repositoryUrl: this.repositoryUrl,
      imageUri: this.imageUri,
      variantUris: this.variantUris,
      sourceUris: this.sourceUris,
    });
  }
}
