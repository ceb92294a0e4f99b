import { connect } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import type { Target } from "../infra/stackConfig.ts";

// What a target needs before any resource is declared, checked by index.ts so that `preview` and
// `up` stop with one sentence instead of a provider's error halfway through the graph. The mock
// harness runs the program without it: mocks need no engine.

/** The program cannot run here; the message says what is missing and what to do. */
export class PreflightError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    this.name = "PreflightError";
  }
}

/** Where the docker provider will look for the engine: `docker:host`, DOCKER_HOST, the socket. */
export function dockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return (
    new pulumi.Config("docker").get("host") || env["DOCKER_HOST"] || "unix:///var/run/docker.sock"
  );
}

/** Resolves once something accepts a connection at `host` (unix:// or tcp://), else rejects. */
function reachable(host: string, timeoutMs: number): Promise<void> {
  const url = new URL(host);
  const socket =
    url.protocol === "unix:"
      ? connect({ path: decodeURIComponent(url.pathname) })
      : connect({ host: url.hostname, port: Number(url.port || 2375) });
  return new Promise((resolve, reject) => {
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

/**
 * Both the docker and the kubernetes targets build the service image on a Docker engine, and
 * the docker provider needs one even to preview: fail first, naming the address it tried.
 */
export async function preflight(target: Target): Promise<void> {
  if (target === "aws") return;
  const host = dockerHost();
  // An ssh:// engine is reached through the ssh client; leave that check to the provider.
  if (!/^(unix|tcp):/.test(host)) return;
  try {
    await reachable(host, 5_000);
  } catch (err) {
    throw new PreflightError(
      `the ${target} target builds the service image on a Docker engine, and none answers at ` +
        `${host} (${(err as Error).message}). Start Docker (on a machine without a service ` +
        "manager: `bash scripts/docker/dockerd.sh`), or point DOCKER_HOST or `docker:host` at " +
        "an engine. Nothing was created.",
    );
  }
}
