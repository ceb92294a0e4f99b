import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

// A run's steps, and a schedule's later runs, act as the key's owner: they present the caller's
// API key to each operation's tier, which checks it, rate-limits and counts it as for any request,
// and refuses it once the key is revoked. The key is kept only encrypted (AES-256-GCM), under a
// key derived from the stack's signing secret, which is never in the database: a copy of the
// tables alone reveals no API key. A run forgets its copy when it ends; a schedule keeps its own
// until it is deleted. A rotated stack secret makes the stored copies unreadable: their runs fail
// with a message saying so, and the schedules must be created again.

const VERSION = "v1";

export class CredentialVault {
  private readonly key: Buffer;

  constructor(stackSecret: string) {
    this.key = Buffer.from(
      hkdfSync("sha256", stackSecret, "", "workflows: callers' API keys at rest", 32),
    );
  }

  seal(authorization: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(authorization, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), sealed].map(text).join(".");
  }

  /** The sealed header, or undefined when it was sealed under another secret (or tampered with). */
  open(sealed: string): string | undefined {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== VERSION || !iv || !tag || !data) return undefined;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([
        decipher.update(Buffer.from(data, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      return undefined;
    }
  }
}

const text = (part: string | Buffer) =>
  typeof part === "string" ? part : part.toString("base64url");
