// What one `pulumi up|destroy --json` did, read from the engine's own events (JSON lines on its
// stdout): completed steps by operation, and each resource that failed with its error.

export interface StepCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
  failed: number;
}

interface EngineEvent {
  resOutputsEvent?: { metadata: { op: string; urn: string } };
  resOpFailedEvent?: { metadata: { op: string; urn: string } };
  diagnosticEvent?: { urn?: string; message: string; severity: string };
}

export interface StepEvents {
  counts: StepCounts;
  /** URN -> the engine's error for it. */
  failed: Map<string, string>;
}

// A replacement is reported as its parts (create-replacement, replace, delete-replaced): counted once.
const OPS: Record<string, keyof StepCounts | undefined> = {
  create: "create",
  update: "update",
  replace: "replace",
  delete: "delete",
  same: "same",
};

const UNSENT = /failed to register new resource (\S+) \[([^\]]+)\]: ([^\n]*)/;

export function readEvents(stdout: string): StepEvents {
  const counts: StepCounts = { create: 0, update: 0, replace: 0, delete: 0, same: 0, failed: 0 };
  const failed = new Map<string, string>();
  const errors = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    // Anything else on stdout (a line the CLI printed itself) is not an event.
    if (!line.startsWith("{")) continue;
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      continue;
    }
    const done = event.resOutputsEvent?.metadata;
    const key = done && OPS[done.op];
    if (key) counts[key]++;
    const diag = event.diagnosticEvent;
    if (diag?.severity === "error" && diag.urn) errors.set(diag.urn, clean(diag.message));
    // A resource the SDK could not even send (an input that failed to resolve) stops the
    // program: the engine reports it against the stack, naming the resource in the message.
    const unsent = diag?.severity === "error" && UNSENT.exec(clean(diag.message));
    if (unsent) {
      const urn = `urn:pulumi:unsent::unsent::${unsent[2]}::${unsent[1]}`;
      failed.set(urn, "");
      errors.set(urn, unsent[3]!.trim());
    }
    const op = event.resOpFailedEvent?.metadata;
    if (op) failed.set(op.urn, "");
  }
  for (const urn of failed.keys()) failed.set(urn, errors.get(urn) ?? "(no message)");
  counts.failed = failed.size;
  return { counts, failed };
}

/** The engine's message without colour codes. */
function clean(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/\u001b\[[0-9;]*m|<\{%[^%]*%\}>/g, "").trim();
}
