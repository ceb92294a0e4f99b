import { createHash } from "node:crypto";
import { ApiError, notFound } from "../shared/errors.ts";
import { NgramModel, ngramSnapshot } from "./ngram.ts";

/** Where trained model files come from: the storage service (its client), by file id. */
export type FetchFile = (fileId: string) => Promise<Buffer | undefined>;

const unavailable = (code: string, message: string) =>
  new ApiError(503, "service_unavailable", code, message);

/**
 * Trained n-gram models, loaded from storage on first use and kept in memory, the `max` most
 * recently used at most (each holds its count tables). Concurrent first uses of one file share
 * one load. A file whose content does not match the hash the registry recorded is refused.
 */
export class TrainedModels {
  private readonly fetchFile: FetchFile;
  private readonly max: number;
  private readonly loaded = new Map<string, Promise<NgramModel>>();

  constructor(fetchFile: FetchFile, max: number) {
    if (max < 1) throw new Error("TrainedModels: max must be at least 1");
    this.fetchFile = fetchFile;
    this.max = max;
  }

  /** Models in memory now. */
  get size(): number {
    return this.loaded.size;
  }

  load(ref: { file: string; sha256: string }): Promise<NgramModel> {
    const key = `${ref.file}:${ref.sha256}`;
    const hit = this.loaded.get(key);
    if (hit) {
      // Map order is insertion order: moving the entry last keeps the least recently used first.
      this.loaded.delete(key);
      this.loaded.set(key, hit);
      return hit;
    }
    const loading = this.read(ref);
    this.loaded.set(key, loading);
    // A failed load is not cached: the next request tries again.
    loading.catch(() => {
      if (this.loaded.get(key) === loading) this.loaded.delete(key);
    });
    while (this.loaded.size > this.max) this.loaded.delete(this.loaded.keys().next().value!);
    return loading;
  }

  private async read(ref: { file: string; sha256: string }): Promise<NgramModel> {
    const data = await this.fetchFile(ref.file);
    // The file is gone because its owner deleted it: the caller's doing, not an outage, so a 404
    // that no gateway counts against the service (a 503 let one user open everyone's breaker).
    if (!data)
      throw notFound("model_file_not_found", `the model file ${ref.file} no longer exists`);
    if (createHash("sha256").update(data).digest("hex") !== ref.sha256)
      throw unavailable(
        "model_file_mismatch",
        `the model file ${ref.file} does not match the hash its model version recorded`,
      );
    let json: unknown;
    try {
      json = JSON.parse(data.toString("utf8"));
    } catch {
      throw unavailable("model_file_invalid", `the model file ${ref.file} is not JSON`);
    }
    const parsed = ngramSnapshot.safeParse(json);
    if (!parsed.success)
      throw unavailable(
        "model_file_invalid",
        `the model file ${ref.file} is not an n-gram model: ${parsed.error.issues[0]!.message}`,
      );
    return new NgramModel(parsed.data);
  }
}
