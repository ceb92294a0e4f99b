import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout, one object per line; secrets are redacted wherever they appear. */
export function createLogger(name: string): Logger {
  return pino({
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
  });
}
