import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { contextDigest, imageTag, pushedImage } from "./serviceImage.ts";

// The ECR repository's tags are immutable, and the docker provider rebuilds (and pushes) whenever
// any of its inputs or its own hash of the context changes, file modes included. A rebuild under
// a tag already pushed is refused by ECR, so the tag must change whenever the provider rebuilds.

function context(): string {
  const dir = mkdtempSync(join(tmpdir(), "image-context-"));
  mkdirSync(join(dir, "services"));
  writeFileSync(join(dir, ".dockerignore"), "*\n!package.json\n!services/\n**/*.test.ts\n");
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
  writeFileSync(join(dir, "package.json"), "{}\n");
  writeFileSync(join(dir, "services", "main.ts"), "console.log(1);\n");
  writeFileSync(join(dir, "services", "main.test.ts"), "test\n");
  return dir;
}

const build = (dir: string, args: Record<string, string> = {}) => ({
  context: dir,
  dockerfile: join(dir, "Dockerfile"),
  platform: "linux/amd64",
  args,
});

test("a file's mode changes the context digest, as it does the provider's hash", () => {
  const dir = context();
  const before = contextDigest(dir);
  chmodSync(join(dir, "services", "main.ts"), 0o755);
  expect(contextDigest(dir)).not.toBe(before);
});

test("a build argument changes the tag", () => {
  const dir = context();
  expect(imageTag(build(dir, { RDS_CA_BUNDLE_SHA256: "a" }))).not.toBe(
    imageTag(build(dir, { RDS_CA_BUNDLE_SHA256: "b" })),
  );
});

test("the platform and the context's path change the tag", () => {
  const dir = context();
  const tag = imageTag(build(dir));
  expect(imageTag({ ...build(dir), platform: "linux/arm64" })).not.toBe(tag);
  const moved = context();
  expect(imageTag(build(moved))).not.toBe(tag);
});

test("the same inputs give the same tag, and files the image leaves out change nothing", () => {
  const dir = context();
  const tag = imageTag(build(dir, { B: "2", A: "1" }));
  writeFileSync(join(dir, "services", "main.test.ts"), "changed\n");
  writeFileSync(join(dir, "README.md"), "not in the image\n");
  expect(imageTag(build(dir, { A: "1", B: "2" }))).toBe(tag);
  expect(tag).toMatch(/^[0-9a-f]{16}$/);
});

test("an image pushed elsewhere names its repository's ARN in its partition", async () => {
  const digest = `sha256:${"0f".repeat(32)}`;
  const arn = (uri: string) =>
    new Promise((ok) => pulumi.output(pushedImage(uri).repositoryArn).apply(ok));
  expect(await arn(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@${digest}`)).toBe(
    "arn:aws:ecr:eu-west-1:111122223333:repository/app",
  );
  expect(await arn(`111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b@${digest}`)).toBe(
    "arn:aws-cn:ecr:cn-north-1:111122223333:repository/a/b",
  );
  expect(await arn(`111122223333.dkr.ecr.us-gov-west-1.amazonaws.com/app@${digest}`)).toBe(
    "arn:aws-us-gov:ecr:us-gov-west-1:111122223333:repository/app",
  );
  expect(() => pushedImage("111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:latest")).toThrow(
    "not an ECR image pinned by digest",
  );
});
