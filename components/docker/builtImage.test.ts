import { BuiltImage } from "./builtImage.ts";
import { recordComponents } from "../../test/plan/harness.ts";

// The image component under Pulumi's mocks; test/pulumi/aliases.test.ts deploys it for real
// under its former type tokens.

it("pushes only when asked, and builds the context with the arguments given", async () => {
  const records = await recordComponents(() => {
    new BuiltImage("local", { imageName: "platform/services:local" });
    new BuiltImage("pushed", {
      imageName: "registry.example.com/platform/services:latest",
      push: true,
      buildArgs: { NODE_IMAGE: "local/node:24" },
      buildNetwork: "host",
    });
  }, "docker");
  const image = (name: string) =>
    records.one("docker:index/image:Image", name).inputs as {
      skipPush: boolean;
      build: { context: string; args?: Record<string, string>; network?: string };
    };
  expect(image("local").skipPush).toBe(true);
  expect(image("local").build.context).toBe(".");
  expect(image("pushed").skipPush).toBe(false);
  expect(image("pushed").build).toMatchObject({
    args: { NODE_IMAGE: "local/node:24" },
    network: "host",
  });
  const component = records.one("platform:docker:BuiltImage", "pushed");
  expect(records.childrenOf(component).map((r) => r.name)).toEqual(["pushed"]);
});
