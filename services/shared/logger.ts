import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON logs on stdout, one object per line; secrets are redacted wherever they appear. Writes are
 * asynchronous: a synchronous write per request was a fifth of a proxy's CPU under load (see
 * bench/README.md). `flushLogs` writes out what is pending before the process exits.
 */
export function createLogger(name: string): Logger {
  return pino(
    {
      name,
      level: process.env["LOG_LEVEL"] ?? "info",
      base: { program: name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "key",
          "apiKey",
          "*.key",
          "*.apiKey",
          "headers.authorization",
          "req.headers.authorization",
        ],
        censor: "[redacted]",
      },
    },
    stdout(),
  );
}

let destination: ReturnType<typeof pino.destination> | undefined;

function stdout() {
  destination ??= pino.destination({ dest: 1, sync: false });
  return destination;
}

export function flushLogs(): void {
  try {
    destination?.flushSync();
  } catch {
    // Not open yet: nothing was written that could be lost.
  }
}
