import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfigError } from "./stackConfigError.ts";

// How the program reads `platform:*` settings, shared by every target's validation. Pulumi.yaml
// gives each optional key the default "" (the CLI makes a key without a default required), so ""
// means unset here; and since the CLI refuses a default on a `secret: true` key, secret keys are
// declared plain and this module refuses a value that was not set with `--secret`.

// @pulumi/pulumi exports isConfigSecret at run time but leaves it out of its typings (@internal);
// the mock harness marks secrets the same way (setAllConfig), so mocks and the CLI agree.
const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };

/** The raw values of `keys` (without the `platform:` prefix); "" is unset. */
export function settingValues(keys: readonly string[]): Record<string, string | undefined> {
  const config = new pulumi.Config("platform");
  return Object.fromEntries(keys.map((key) => [key, config.get(key) || undefined]));
}

/** Every `platform:*` value that is set (not ""), keyed without the prefix. */
export function allSettingValues(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pulumi.runtime.allConfig()).flatMap(([key, value]) =>
      key.startsWith("platform:") && value !== "" ? [[key.slice("platform:".length), value]] : [],
    ),
  );
}

/**
 * A secret setting as a secret Output, or undefined when unset. Its raw value is checked first,
 * because an error inside an Output's `apply` would surface as a failed registration, not as the
 * config key; `check` returns the problem, and no message ever includes the value.
 */
export function secretSetting(
  key: string,
  check: (raw: string) => string | undefined = () => undefined,
): pulumi.Output<string> | undefined {
  const raw = pulumi.runtime.getConfig(`platform:${key}`);
  if (raw === undefined || raw === "") return undefined;
  if (!runtime.isConfigSecret(`platform:${key}`)) {
    throw new StackConfigError([
      `platform:${key} is a secret: set it with \`pulumi config set --secret platform:${key} <value>\`, not in plain text`,
    ]);
  }
  const problem = check(raw);
  if (problem) throw new StackConfigError([`platform:${key} ${problem}`]);
  return new pulumi.Config("platform").requireSecret(key);
}

/**
 * A secret the stack makes for itself (random letters and digits, kept encrypted in the state):
 * a fresh stack needs no secret from its user, and no two stacks share one. No punctuation, so
 * that it goes into a URL, a header, a shell variable and a single-quoted env-file line as it is.
 */
export function generatedSecret(name: string, length = 32): pulumi.Output<string> {
  return pulumi.secret(new random.RandomPassword(name, { length, special: false }).result);
}
