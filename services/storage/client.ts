import { callService, errorFrom } from "../shared/serviceCall.ts";
import type { ReplicaSet } from "../shared/upstream.ts";
import type { InternalFile, Purpose } from "./contract.ts";

/** The storage service's internal API, for the services that list it in `calls`. */
export class StorageClient {
  private readonly set: ReplicaSet;
  constructor(set: ReplicaSet) {
    this.set = set;
  }

  /** Stores a file for `userId`. Not retried after a broken connection: it would store twice. */
  async upload(
    file: { userId: string; purpose: Purpose; filename: string; contentType: string; data: Buffer },
    headers: Record<string, string> = {},
  ): Promise<InternalFile> {
    const query = new URLSearchParams({
      user_id: file.userId,
      purpose: file.purpose,
      filename: file.filename,
    });
    const res = await callService(this.set, {
      method: "POST",
      path: `/internal/files?${query}`,
      headers: { ...headers, "content-type": file.contentType },
      body: file.data,
      retryable: false,
    });
    if (res.statusCode !== 201) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as InternalFile;
  }

  /** A file's metadata, its owner included; undefined when there is no such file. */
  async info(id: string, headers: Record<string, string> = {}): Promise<InternalFile | undefined> {
    const res = await callService(this.set, {
      method: "GET",
      path: `/internal/files/${encodeURIComponent(id)}`,
      headers,
      retryable: true,
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return (await res.body.json()) as InternalFile;
  }

  /** A file's content; undefined when there is no such file. */
  async content(
    id: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Buffer | undefined> {
    const res = await callService(this.set, {
      method: "GET",
      path: `/internal/files/${encodeURIComponent(id)}/content`,
      headers,
      retryable: true,
      signal,
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) throw await errorFrom(res.statusCode, res.body, this.set.name);
    return Buffer.from(await res.body.arrayBuffer());
  }
}
