import { createHash } from "node:crypto";
import { ApiError } from "../shared/errors.ts";
import { newId } from "../shared/ids.ts";
import { ownedPage, type Page } from "../shared/pagination.ts";
import type { Db } from "../shared/sql/db.ts";
import type { BlobStore } from "./blobs.ts";
import type { FileObject, InternalFile, Purpose } from "./contract.ts";

export const migrations = [
  `
CREATE TABLE files (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX files_user ON files (user_id, id);
`,
];

interface Row {
  id: string;
  user_id: string;
  filename: string;
  purpose: string;
  bytes: number | string;
  sha256: string;
  content_type: string;
  created_at: string;
}

const toFile = (r: Row): InternalFile => ({
  id: r.id,
  object: "file",
  bytes: Number(r.bytes),
  created_at: Math.floor(Date.parse(r.created_at) / 1000),
  filename: r.filename,
  purpose: r.purpose as Purpose,
  sha256: r.sha256,
  content_type: r.content_type,
  user_id: r.user_id,
});

/** What one user may keep: files, and bytes over all of them. */
export interface UserLimits {
  files: number;
  bytes: number;
}

/** The upload would take its user past their `UserLimits`. */
export class StorageLimitReached extends Error {}

/** The public view: the owner is the caller, so it is not repeated. */
export function publicFile(file: InternalFile): FileObject {
  return {
    id: file.id,
    object: file.object,
    bytes: file.bytes,
    created_at: file.created_at,
    filename: file.filename,
    purpose: file.purpose,
    sha256: file.sha256,
    content_type: file.content_type,
  };
}

export interface NewFile {
  userId: string;
  filename: string;
  purpose: Purpose;
  contentType: string;
  data: Buffer;
}

export const sha256Hex = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * Files: metadata in the service's own tables, contents in a blob store. A create writes the blob
 * first and the row second, and a delete removes the row first: a crash in between leaves an
 * unreferenced blob, never a row whose content is missing.
 */
export function fileStore(db: Db, blobs: BlobStore) {
  const find = async (id: string): Promise<InternalFile | undefined> => {
    const rows = await db.query<Row>("SELECT * FROM files WHERE id = $1", [id]);
    return rows[0] && toFile(rows[0]);
  };
  return {
    /** Stores a file; with `limits`, only if its owner stays within them (else StorageLimitReached). */
    async create(input: NewFile, limits?: UserLimits): Promise<InternalFile> {
      const row: Row = {
        id: newId("file"),
        user_id: input.userId,
        filename: input.filename,
        purpose: input.purpose,
        bytes: input.data.length,
        sha256: sha256Hex(input.data),
        content_type: input.contentType,
        created_at: new Date().toISOString(),
      };
      return db.transaction(async (tx) => {
        if (limits) {
          // One user's uploads are counted one at a time (SQLite has one writer anyway).
          if (tx.engine === "postgres")
            await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`files:${input.userId}`]);
          const [kept] = await tx.query<{ n: number | string; bytes: number | string | null }>(
            "SELECT COUNT(*) AS n, SUM(bytes) AS bytes FROM files WHERE user_id = $1",
            [input.userId],
          );
          if (
            Number(kept!.n) + 1 > limits.files ||
            Number(kept!.bytes ?? 0) + input.data.length > limits.bytes
          )
            throw new StorageLimitReached();
        }
        await blobs.put(row.id, input.data, { contentType: row.content_type, sha256: row.sha256 });
        await tx.query(
          `INSERT INTO files (id, user_id, filename, purpose, bytes, sha256, content_type, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            row.id,
            row.user_id,
            row.filename,
            row.purpose,
            row.bytes,
            row.sha256,
            row.content_type,
            row.created_at,
          ],
        );
        return toFile(row);
      });
    },

    /** Any owner's file (the internal API); the public routes use `owned`. */
    find,

    /** The file if `userId` owns it: another owner's file is indistinguishable from none. */
    async owned(userId: string, id: string): Promise<InternalFile | undefined> {
      const file = await find(id);
      return file?.user_id === userId ? file : undefined;
    },

    /** Newest first, optionally of one purpose. */
    list(
      userId: string,
      page: { limit: number; after?: string; purpose?: Purpose },
    ): Promise<Page<InternalFile>> {
      return ownedPage(
        db,
        "files",
        userId,
        page,
        toFile,
        page.purpose ? { purpose: page.purpose } : {},
      );
    },

    /**
     * The content, checked against the hash recorded at upload: a blob changed or damaged at
     * rest is a 500, never silently served.
     */
    async content(file: InternalFile): Promise<Buffer> {
      const data = await blobs.get(file.id);
      if (!data || sha256Hex(data) !== file.sha256) {
        throw new ApiError(
          500,
          "api_error",
          "file_content_damaged",
          `the content of ${file.id} is missing or does not match its hash`,
        );
      }
      return data;
    },

    async delete(file: InternalFile): Promise<void> {
      await db.query("DELETE FROM files WHERE id = $1", [file.id]);
      await blobs.delete(file.id);
    },
  };
}

export type FileStore = ReturnType<typeof fileStore>;
