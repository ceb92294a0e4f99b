import { enginePlan, script } from "../docker/engine.ts";

/**
 * Makes sure a Docker engine answers before a real-CLI test: the docker and kubernetes targets
 * need one even to preview. Returns why the tests skip on a developer's machine without one
 * (CI starts it instead; see test/docker/engine.ts), or undefined when they run.
 */
export async function dockerEngineOrSkip(): Promise<string | undefined> {
  const plan = enginePlan();
  if (plan.mode === "skip") return plan.reason;
  if (plan.mode === "start") await script("dockerd.sh");
  return undefined;
}
