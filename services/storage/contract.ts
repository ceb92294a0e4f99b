import { z } from "zod";
import { idSchema } from "../shared/ids.ts";
import { listOf, pageQuery } from "../shared/pagination.ts";

// The storage service's API shapes, shared with its callers (training, inference). Public files
// follow the OpenAI files API (`POST /v1/files` as multipart with `file` and `purpose`); trained
// model files are written by the training service through the internal API only.

export const fileId = idSchema("file", "a file id");

/**
 * `fine-tune`: a training corpus (UTF-8 text), OpenAI's name for training data, so that the
 * `openai` client uploads one unchanged. `vision`: a picture (PNG or JPEG), OpenAI's name too,
 * which a video may show. `model`: a trained model file, written by training.
 */
export const purposes = ["fine-tune", "vision", "model"] as const;
export type Purpose = (typeof purposes)[number];
/** What a caller may upload through the public API: model files come from training only. */
export const publicPurpose = z.enum(["fine-tune", "vision"], {
  error:
    "must be fine-tune (a training corpus) or vision (a PNG or JPEG picture); model files come from training",
});

export const filename = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (s) => !/[/\\]/.test(s) && ![...s].some((c) => c.charCodeAt(0) < 0x20),
    "must be a plain file name (no path, no control characters)",
  );

export const listFilesQuery = pageQuery(fileId).extend({ purpose: z.enum(purposes).optional() });

/** `POST /internal/files?user_id=&purpose=&filename=`, the body being the file's bytes. */
export const internalUploadQuery = z
  .object({
    user_id: z.string().min(1).max(200),
    purpose: z.enum(purposes),
    filename,
  })
  .strict();

/** A file as the OpenAI API shapes it, plus its content hash. */
export const fileObject = z
  .object({
    id: fileId,
    object: z.literal("file"),
    bytes: z.number().int().min(0),
    created_at: z.number().int(),
    filename: z.string(),
    purpose: z.enum(purposes),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .meta({
        description: "Hex SHA-256 of the content; downloads are checked against it",
      }),
    content_type: z.string(),
  })
  .strict()
  .meta({ id: "File", description: "A stored file, as the OpenAI files API shapes it" });
export type FileObject = z.infer<typeof fileObject>;
export const fileList = listOf(fileObject);
export const deletedFile = z
  .object({ id: fileId, object: z.literal("file"), deleted: z.literal(true) })
  .strict();

/** The internal view adds the owner, which the callers check (training reads only its caller's corpora). */
export interface InternalFile extends FileObject {
  user_id: string;
}
