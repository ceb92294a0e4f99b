import { createHash, randomBytes } from "node:crypto";

// `POST /v1/files` as multipart/form-data, streamed: the file goes out in chunks as it is read,
// its SHA-256 computed on the way, so a 4 MiB upload never sits whole in memory twice and the
// hash the platform answers can be checked against what was sent.

export interface MultipartFile {
  filename: string;
  contentType: string;
  size: number;
  /** The content, a chunk at a time; called again for each attempt. */
  chunks: () => AsyncIterable<Uint8Array>;
}

export interface MultipartBody {
  contentType: string;
  length: number;
  /** The body's bytes; `onChunk` sees each chunk of the file with the bytes sent so far. */
  stream: (onChunk: (fileBytesSent: number) => void) => AsyncIterable<Uint8Array>;
  /** The file's SHA-256 (hex), once a stream has been read to its end. */
  sha256: () => string | undefined;
}

// As browsers send names (the HTML standard's multipart/form-data encoding).
const quote = (s: string) =>
  s.replace(/["\r\n]/g, (c) => ({ '"': "%22", "\r": "%0D", "\n": "%0A" })[c]!);

export function multipartFile(fields: Record<string, string>, file: MultipartFile): MultipartBody {
  const boundary = `----platform-client-${randomBytes(12).toString("hex")}`;
  const enc = new TextEncoder();
  const head = enc.encode(
    Object.entries(fields)
      .map(
        ([k, v]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`,
      )
      .join("") +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(file.filename)}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`,
  );
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  let digest: string | undefined;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + file.size + tail.length,
    sha256: () => digest,
    async *stream(onChunk) {
      const hash = createHash("sha256");
      let sent = 0;
      yield head;
      for await (const chunk of file.chunks()) {
        hash.update(chunk);
        sent += chunk.length;
        yield chunk;
        onChunk(sent);
      }
      if (sent !== file.size)
        throw new Error(
          `${file.filename} changed while it was sent: ${sent} bytes, not ${file.size}`,
        );
      digest = hash.digest("hex");
      yield tail;
    },
  };
}
