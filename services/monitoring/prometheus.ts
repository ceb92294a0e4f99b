// A parser for the Prometheus text exposition format (version 0.0.4), the format every replica's
// /metrics answers: enough of it to read samples back (comments, labels with escapes, special
// float values, optional timestamps).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line.slice(0, 80)}`);
    samples.push({
      name: m[1]!,
      labels: parseLabels(m[2], i + 1),
      value: parseValue(m[3]!, i + 1),
    });
  });
  return samples;
}

function parseLabels(block: string | undefined, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!block) return labels;
  const inner = block.slice(1, -1);
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < inner.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(inner);
    if (!m) {
      if (inner.slice(at).trim() === "") break;
      throw new Error(`line ${line}: bad labels at "${inner.slice(at, at + 40)}"`);
    }
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function parseValue(text: string, line: number): number {
  // Special values are case-insensitive, as Go's ParseFloat reads them (prom-client writes "Nan").
  const special: Record<string, number> = {
    nan: NaN,
    inf: Infinity,
    "+inf": Infinity,
    "-inf": -Infinity,
  };
  const lower = text.toLowerCase();
  if (lower in special) return special[lower]!;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`line ${line}: bad value ${text}`);
  return value;
}

/** The sum of every sample named `name` whose labels pass `where`. */
export function sum(
  samples: readonly Sample[],
  name: string,
  where: (labels: Record<string, string>) => boolean = () => true,
): number {
  return samples.reduce((t, s) => (s.name === name && where(s.labels) ? t + s.value : t), 0);
}
