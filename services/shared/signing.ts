import { createHmac, timingSafeEqual } from "node:crypto";

// What the gateways assert to the services (the principal), and what they keep in shared stores
// that others can also write (auth verdicts in Redis, parked writes in Kafka), carries an HMAC
// with the stack's PRINCIPAL_SECRET: anything that reaches a service port or a store without the
// secret cannot make a user of its own choosing.

/** HMAC-SHA256 of `parts` under `purpose`; the JSON encoding keeps the parts' boundaries. */
export function signParts(secret: string, purpose: string, parts: readonly unknown[]): string {
  return createHmac("sha256", secret)
    .update(JSON.stringify([purpose, ...parts]))
    .digest("base64url");
}

/** Whether `mac` is the signature of `parts` under `purpose`, compared in constant time. */
export function verifyParts(
  secret: string,
  purpose: string,
  parts: readonly unknown[],
  mac: unknown,
): boolean {
  if (typeof mac !== "string") return false;
  const expected = Buffer.from(signParts(secret, purpose, parts));
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
