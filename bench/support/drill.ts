import type { Env } from "../../platform/runtimeEnv.ts";
import { startDataStores, type DataStoresArgs } from "./stores.ts";
import { BenchTopology } from "./topology.ts";

export interface DrillArgs {
  /** Names the run's temp dir. */
  name: string;
  /** What the drill does, printed first. */
  title: string;
  stores?: DataStoresArgs;
  env?: Env;
}

/**
 * Runs one drill: real stores, the default topology on them, then `body`, which prints its
 * figures and says whether the target was met. Everything is stopped whatever happens, the logs
 * are kept when the drill fails, and the process exits 0 on PASS, 1 otherwise.
 */
export async function runDrill(
  args: DrillArgs,
  body: (topology: BenchTopology) => Promise<boolean>,
): Promise<never> {
  console.log(`drill: ${args.title}`);
  let passed = false;
  const stores = await startDataStores(args.stores);
  try {
    const topology = await BenchTopology.start({
      name: args.name,
      data: stores.data,
      env: args.env,
    });
    console.log(`topology: ${topology.specs.length} processes on ${stores.describe}`);
    try {
      passed = await body(topology);
    } catch (err) {
      console.error(`drill failed: ${(err as Error).stack ?? err}`);
      console.log("FAIL (the drill could not run to the end)");
    } finally {
      await topology.stop(!passed);
    }
  } catch (err) {
    console.error(`could not start the topology: ${(err as Error).message}`);
    console.log("FAIL (the drill could not run)");
  } finally {
    await stores.stop();
  }
  process.exit(passed ? 0 : 1);
}

/** A positive number from the environment, or the default. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}
