/**
 * One sample of a Prometheus metric from a process's /metrics: the sum over the series named
 * `name` whose labels include every pair in `labels` (undefined when there is none).
 */
export async function scrape(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(2_000),
  })
    .then((r) => r.text())
    .catch(() => "");
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const series = line.slice(0, line.lastIndexOf(" "));
    if (wanted.every((pair) => series.includes(pair)))
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
