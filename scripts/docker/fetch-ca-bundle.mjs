/* global fetch, AbortSignal, Buffer */
// Downloads a PEM bundle of CA certificates into the image (see the Dockerfile: RDS_CA_BUNDLE_URL).
// The bundle decides which servers a task trusts, so it must be the one reviewed: its SHA-256 is
// pinned (RDS_CA_BUNDLE_SHA256), and a different download fails the build, as does anything that
// is not a non-empty list of certificates (an error page, a truncated download).
//   node fetch-ca-bundle.mjs <https-url> <sha256> <file>
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";

const [url, sha256, file] = process.argv.slice(2);
if (!url || !/^[0-9a-f]{64}$/.test(sha256 ?? "") || !file) {
  console.error("usage: fetch-ca-bundle.mjs <url> <sha256 of the bundle, 64 hex digits> <file>");
  process.exit(2);
}
const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
const body = Buffer.from(await response.arrayBuffer());
const pem = body.toString("utf8").trim();
const certificate = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
if (!response.ok || pem === "" || pem.replace(certificate, "").trim() !== "") {
  console.error(`${url}: not a PEM bundle of certificates (HTTP ${response.status})`);
  process.exit(1);
}
const actual = createHash("sha256").update(body).digest("hex");
if (actual !== sha256) {
  console.error(`${url}: SHA-256 ${actual}, not the pinned ${sha256}; review the new bundle`);
  process.exit(1);
}
writeFileSync(file, body, { mode: 0o644 });
console.log(`${file}: ${pem.match(certificate)?.length} certificates from ${url}`);
