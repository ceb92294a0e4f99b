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
      // Milliseconds since the epoch: formatting an ISO date per line was a measurable share of
      // a gateway's access log (bench/README.md); any log tool reads either.
      timestamp: pino.stdTimeFunctions.epochTime,
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

const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * The logger of `logger`'s access-log lines, without redaction: those lines hold only the fields
 * `recordRequest` (http.ts) writes, none of them secret, and the redaction's pass over each line
 * was about a third of its cost (2 of 6 us), paid on every request of every hop.
 */
export function accessLogger(logger: Logger): Logger {
  let access = accessLoggers.get(logger);
  if (!access) {
    access = logger.child({}, { redact: [] });
    accessLoggers.set(logger, access);
  }
  return access;
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
