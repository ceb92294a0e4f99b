/* global fetch, AbortSignal */
// Downloads a PEM bundle of CA certificates into the image (see the Dockerfile: RDS_CA_BUNDLE_URL).
// Refuses anything that is not a non-empty list of certificates, so that an error page or a
// truncated download fails the build instead of leaving a task that cannot reach its database.
//   node fetch-ca-bundle.mjs <https-url> <file>
import { writeFileSync } from "node:fs";

const [url, file] = process.argv.slice(2);
if (!url || !file) {
  console.error("usage: fetch-ca-bundle.mjs <url> <file>");
  process.exit(2);
}
const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
const pem = (await response.text()).trim();
const certificate = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
if (!response.ok || pem === "" || pem.replace(certificate, "").trim() !== "") {
  console.error(`${url}: not a PEM bundle of certificates (HTTP ${response.status})`);
  process.exit(1);
}
writeFileSync(file, `${pem}\n`, { mode: 0o644 });
console.log(`${file}: ${pem.match(certificate)?.length} certificates from ${url}`);
