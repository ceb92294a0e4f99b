/**
 * The container health check the platform's image supports: the image has Node but no curl, so
 * the probe is a `node -e` that fetches a path on loopback. The Dockerfile's HEALTHCHECK says the
 * same in its own syntax (test/docker/images.test.ts checks that the two agree).
 *
 * A probe is a fresh Node process: about 0.13 s of wall time on an idle host, and several seconds
 * on a busy one (40 replicas probing every 2 s saturated two cores in CI and no probe finished
 * inside a 3 s timeout). Hence the 5 s timeout and the 10 s interval, and no faster start interval
 * (the image builder Debian ships does not parse one, and ECS has none).
 */
export const probeTiming = {
  intervalSeconds: 10,
  timeoutSeconds: 5,
  startPeriodSeconds: 20,
  retries: 3,
} as const;

/** `CMD` form of the probe: exit 0 when `path` on `port` answers 2xx within the fetch timeout. */
export function nodeHttpProbe(port: number, path: string): string[] {
  const fetchTimeoutMs = (probeTiming.timeoutSeconds - 1) * 1000;
  return [
    "CMD",
    "node",
    "-e",
    `fetch("http://127.0.0.1:${port}${path}", { signal: AbortSignal.timeout(${fetchTimeoutMs}) })` +
      ".then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
  ];
}
