import { createHash, randomBytes } from "node:crypto";

/**
 * API keys are 256 random bits, so a plain SHA-256 is enough to store them: there is nothing to
 * brute-force that a slow password hash would protect. Only the hash and a short prefix (for
 * people to tell their keys apart) are stored.
 */
export function generateKey(): string {
  return `sk-${randomBytes(32).toString("base64url")}`;
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function keyPrefix(key: string): string {
  return key.slice(0, 7);
}
