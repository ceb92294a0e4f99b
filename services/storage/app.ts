import express, { type Express, type Request } from "express";
import { checkBody } from "../shared/callSignature.ts";
import { ApiError, badRequest, limitReached, notFound } from "../shared/errors.ts";
import { listBody } from "../shared/pagination.ts";
import { principalFrom } from "../shared/principal.ts";
import { parse } from "../shared/validation.ts";
import {
  fileId,
  filename,
  internalUploadQuery,
  listFilesQuery,
  publicPurpose,
} from "./contract.ts";
import { StorageLimitReached, publicFile, type FileStore, type UserLimits } from "./store.ts";

export interface StorageRoutesArgs {
  files: FileStore;
  /** Largest file accepted, in bytes. */
  maxFileBytes: number;
  /** What one user may keep through the public API: files and their bytes. */
  perUser: UserLimits;
}

/** Declared types a corpus may come with; the content itself must then be UTF-8 text. */
const TEXT_TYPES = new Set(["", "text/plain", "text/markdown", "application/octet-stream"]);
/** Declared types a picture may come with; its first bytes then say which it is. */
const PICTURE_TYPES = new Set(["image/png", "image/jpeg", "application/octet-stream"]);
/** Room for the multipart framing around the file. */
const MULTIPART_OVERHEAD = 64 * 1024;

const unsupported = (message: string, param?: string) =>
  new ApiError(415, "invalid_request_error", "unsupported_media_type", message, param);

const tooLarge = (max: number) =>
  new ApiError(
    413,
    "invalid_request_error",
    "file_too_large",
    `the file is larger than ${max} bytes`,
    "file",
  );

/** Picture types told by their first bytes, which a declared type cannot vouch for. */
const PICTURES = [
  { type: "image/png", magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: "image/jpeg", magic: Buffer.from([0xff, 0xd8, 0xff]) },
];

/** The type of a `vision` file's content: PNG or JPEG, else a 400 naming the field. */
function pictureType(data: Buffer): string {
  const found = PICTURES.find((p) => data.subarray(0, p.magic.length).equals(p.magic));
  if (!found)
    throw badRequest(
      "invalid_file_content",
      "file: a vision file is a PNG or JPEG picture",
      "file",
    );
  return found.type;
}

/** UTF-8 text without NUL: what the n-gram trainer reads. */
function checkText(data: Buffer): void {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    throw badRequest("invalid_file_content", "file: the content is not UTF-8 text", "file");
  }
  if (text.includes("\u0000"))
    throw badRequest("invalid_file_content", "file: the content is binary, not text", "file");
}

/** The multipart form of `POST /v1/files`, parsed by the platform's own FormData. */
async function readForm(req: Request): Promise<FormData> {
  if (!req.is("multipart/form-data"))
    throw unsupported("send the file as multipart/form-data with the fields file and purpose");
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    return await new Response(raw, {
      headers: { "content-type": req.headers["content-type"]! },
    }).formData();
  } catch {
    throw badRequest("invalid_multipart", "the body is not a well-formed multipart form");
  }
}

/**
 * Files in the shape of the OpenAI files API (`/v1/files`), each visible to its owner only, and
 * the internal API that training (writes model files, reads corpora) and inference (reads model
 * files) call; the internal paths have no public route (catalog) and carry no principal.
 */
export function storageRoutes(app: Express, args: StorageRoutesArgs): void {
  const { files, maxFileBytes } = args;

  app.post(
    "/v1/files",
    express.raw({
      type: "multipart/form-data",
      limit: maxFileBytes + MULTIPART_OVERHEAD,
      verify: checkBody,
    }),
    async (req, res) => {
      res.locals.route = "/v1/files";
      const { userId } = principalFrom(req.headers);
      const form = await readForm(req);
      for (const key of form.keys()) {
        if (key !== "file" && key !== "purpose")
          throw badRequest("unknown_parameter", `${key}: unknown field`, key);
      }
      const purpose = parse(publicPurpose, form.get("purpose") ?? undefined, "purpose");
      const file = form.get("file");
      if (!(file instanceof File))
        throw badRequest("missing_file", "file: a file is required", "file");
      const name = parse(filename, file.name, "file");
      const declared = file.type.split(";")[0]!.trim().toLowerCase();
      const picture = purpose === "vision";
      if (picture ? !PICTURE_TYPES.has(declared) : !TEXT_TYPES.has(declared))
        throw unsupported(
          `file: a ${picture ? "picture is image/png or image/jpeg" : "corpus is text/plain"}, not ${declared}`,
          "file",
        );
      if (file.size === 0) throw badRequest("empty_file", "file: the file is empty", "file");
      if (file.size > maxFileBytes) throw tooLarge(maxFileBytes);
      const data = Buffer.from(await file.arrayBuffer());
      let contentType = "text/plain; charset=utf-8";
      if (picture) contentType = pictureType(data);
      else checkText(data);
      let created;
      try {
        created = await files.create(
          { userId, filename: name, purpose, contentType, data },
          args.perUser,
        );
      } catch (err) {
        if (!(err instanceof StorageLimitReached)) throw err;
        throw limitReached(
          "storage_limit_reached",
          `you keep at most ${args.perUser.files} files and ${args.perUser.bytes} bytes; delete files first`,
        );
      }
      res.locals.decision = created.id;
      res.json(publicFile(created));
    },
  );

  app.get("/v1/files", async (req, res) => {
    res.locals.route = "/v1/files";
    const { userId } = principalFrom(req.headers);
    const page = await files.list(userId, parse(listFilesQuery, req.query, "query"));
    res.json(listBody({ items: page.items.map(publicFile), hasMore: page.hasMore }));
  });

  const ownedFile = async (req: Request) => {
    const { userId } = principalFrom(req.headers);
    const id = parse(fileId, req.params.id, "file_id");
    const file = await files.owned(userId, id);
    if (!file) throw notFound("file_not_found", `no file ${id}`);
    return file;
  };

  app.get("/v1/files/:id", async (req, res) => {
    res.locals.route = "/v1/files";
    res.json(publicFile(await ownedFile(req)));
  });

  app.get("/v1/files/:id/content", async (req, res) => {
    res.locals.route = "/v1/files";
    const file = await ownedFile(req);
    res.type(file.content_type).send(await files.content(file));
  });

  app.delete("/v1/files/:id", async (req, res) => {
    res.locals.route = "/v1/files";
    const file = await ownedFile(req);
    await files.delete(file);
    res.json({ id: file.id, object: "file", deleted: true });
  });

  app.post(
    "/internal/files",
    express.raw({ type: () => true, limit: maxFileBytes, verify: checkBody }),
    async (req, res) => {
      res.locals.route = "/internal/files";
      const query = parse(internalUploadQuery, req.query, "query");
      const data = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (data.length === 0) throw badRequest("empty_file", "the body is empty", "body");
      const contentType = req.headers["content-type"];
      if (!contentType) throw unsupported("name the content type");
      const created = await files.create({
        userId: query.user_id,
        filename: query.filename,
        purpose: query.purpose,
        contentType,
        data,
      });
      res.status(201).json(created);
    },
  );

  const anyFile = async (req: Request) => {
    const id = parse(fileId, req.params.id, "file_id");
    const file = await files.find(id);
    if (!file) throw notFound("file_not_found", `no file ${id}`);
    return file;
  };

  app.get("/internal/files/:id", async (req, res) => {
    res.locals.route = "/internal/files";
    res.json(await anyFile(req));
  });

  app.get("/internal/files/:id/content", async (req, res) => {
    res.locals.route = "/internal/files";
    const file = await anyFile(req);
    res
      .type(file.content_type)
      .setHeader("x-content-sha256", file.sha256)
      .send(await files.content(file));
  });
}
