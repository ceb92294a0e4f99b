import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseDockerSettings } from "../../infra/docker/config.ts";
import { parseKubernetesSettings } from "../../infra/kubernetes/config.ts";
import { parseSettings, settingKeys } from "../../infra/stackConfig.ts";
import { ROOT } from "./cli.ts";

// Pulumi.yaml's `config:` block against what the program reads, without the CLI (the real CLI's
// previews of fresh stacks are in freshStacks.test.ts). The CLI makes a key of the project's
// namespace required when it has no default, and refuses a default on a `secret: true` key: one
// such declaration and no fresh stack previews.

interface Declared {
  type?: string;
  default?: unknown;
  secret?: boolean;
  description?: string;
}
const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
  config: Record<string, Declared>;
};
const declared = Object.fromEntries(
  Object.entries(project.config)
    .filter(([key]) => key.startsWith("platform:"))
    .map(([key, value]) => [key.slice("platform:".length), value]),
);

test("declares exactly the settings the program reads, each typed and described", () => {
  expect(Object.keys(declared).sort()).toEqual([...settingKeys].sort());
  for (const [key, d] of Object.entries(declared)) {
    expect([key, typeof d.type, (d.description ?? "").length > 20]).toEqual([key, "string", true]);
  }
});

test("gives every key a default and marks none `secret: true`, so a fresh stack needs no setting", () => {
  for (const [key, d] of Object.entries(declared)) {
    expect([key, "default" in d, d.secret ?? false]).toEqual([key, true, false]);
  }
});

test("keeps the program's defaults and Pulumi.yaml's the same; \"\" stands for unset", () => {
  const program: Record<string, unknown> = {
    ...parseSettings({}),
    ...parseDockerSettings({}),
    ...parseKubernetesSettings({ imageRepository: "registry.example.com/platform/services" }),
  };
  for (const [key, d] of Object.entries(declared)) {
    if (key === "imageRepository") continue;
    const expected = d.default === "" ? undefined : String(d.default);
    const actual = program[key] === undefined ? undefined : String(program[key]);
    expect([key, actual]).toEqual([key, expected]);
  }
});

test("accepts every declared default as a value of its key", () => {
  const defaults = Object.fromEntries(
    Object.entries(declared).map(([key, d]) => [
      key,
      d.default === "" ? undefined : String(d.default),
    ]),
  );
  expect(() => parseSettings(defaults)).not.toThrow();
});
