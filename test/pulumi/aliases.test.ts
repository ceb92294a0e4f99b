import { formerTypes } from "../../components/docker/builtImage.ts";
import { dockerEngineOrSkip } from "./engineSetup.ts";
import { PULUMI_TEST_TIMEOUT_MS, Workspace } from "./cli.ts";

// Renames keep state: the image component deployed under each type token it was released with,
// then as it is now, with the real CLI and engine. Without BuiltImage's aliases the second `up`
// would delete the image and create it again under the new type.

jest.setTimeout(PULUMI_TEST_TIMEOUT_MS);

const cwd = "test/pulumi/fixtures/aliases";

it.each(formerTypes)("an up under %s, then under BuiltImage, replaces nothing", async (former) => {
  const skip = await dockerEngineOrSkip();
  if (skip) return console.warn(`skipped: ${skip}`);
  const ws = new Workspace();
  const stack = former.split(":").at(-1)!.toLowerCase();
  try {
    await ws.run(["stack", "init", stack], { cwd });
    await ws.run(["config", "set", "--stack", stack, "generation", former], { cwd });
    await ws.run(["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], { cwd });
    await ws.run(["config", "set", "--stack", stack, "generation", "current"], { cwd });
    const preview = await ws.run(
      ["preview", "--stack", stack, "--expect-no-changes", "--non-interactive"],
      { cwd },
    );
    expect(preview.stdout).not.toMatch(/to (create|delete|replace)/);
    const up = await ws.run(
      ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"],
      { cwd },
    );
    expect(up.stdout).not.toMatch(/created|deleted|replaced/);
  } finally {
    await ws.exec(["destroy", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], {
      cwd,
    });
    ws.remove();
  }
});
