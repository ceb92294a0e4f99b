import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";

export interface ServiceImageArgs {
  /** Build context directory (the repository root). */
  context: pulumi.Input<string>;
  /** Dockerfile path. Default `<context>/Dockerfile`. */
  dockerfile?: pulumi.Input<string>;
  /** Build arguments, e.g. the base image. */
  buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Untagged images are expired after this many days. Default 7. */
  untaggedExpiryDays?: number;
  /** Tagged images kept in the repository. Default 30. */
  keepTaggedImages?: number;
  tags?: Record<string, string>;
}

/**
 * A private ECR repository and the image built from the repository's Dockerfile and pushed to
 * it. One image holds every program; the task's command picks which one runs.
 */
export class ServiceImage extends pulumi.ComponentResource {
  public readonly repositoryArn: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;
  /** `repository@sha256:...`: pinned by content, so a task definition changes only when the image does. */
  public readonly imageUri: pulumi.Output<string>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:aws:ServiceImage", name, {}, opts);
    const parent = { parent: this };

    const repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        imageScanningConfiguration: { scanOnPush: true },
        // Every tag is immutable except the moving `latest` push label: deployments never use a
        // tag, they pin the pushed digest, so what runs is always the image that was scanned.
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters: [{ filterType: "WILDCARD", filter: "latest" }],
        encryptionConfigurations: [{ encryptionType: "AES256" }],
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
    const context = pulumi.output(args.context);
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: pulumi.interpolate`${repository.repositoryUrl}:latest`,
        build: {
          context,
          dockerfile: args.dockerfile ?? pulumi.interpolate`${context}/Dockerfile`,
          platform: "linux/amd64",
          args: args.buildArgs,
        },
        registry: {
          server: repository.repositoryUrl,
          username: auth.userName,
          password: pulumi.secret(auth.password),
        },
      },
      parent,
    );

    this.repositoryArn = repository.arn;
    this.repositoryUrl = repository.repositoryUrl;
    this.imageUri = image.repoDigest;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageUri: this.imageUri });
  }
}
