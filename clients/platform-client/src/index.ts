// The platform's client library: `new PlatformClient({ origin })`, then a session per API key.
export {
  PlatformClient,
  Session,
  type ClientOptions,
  type SessionState,
  type CallInit,
} from "./client.ts";
export { PlatformError, ConnectionError, WorkerCrashedError, UsageError } from "./errors.ts";
export { WorkerPool, type PoolOptions } from "./pool.ts";
export { InlineExecutor, type Executor } from "./executor.ts";
export type { ChatResult, DownloadResult, KeyInfo, Progress, WorkerKind } from "./tasks.ts";
export type { TelemetrySnapshot, OperationFigures } from "./telemetry.ts";
export type { RetryPolicy } from "./retry.ts";
export type { paths, operations, components } from "./openapi.ts";
