import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate, createHash } from "node:crypto";
import { promisify } from "node:util";

// The Dockerfile's RDS CA step (scripts/docker/fetch-ca-bundle.mjs), run as the build runs it,
// against a loopback server: the pinned bundle is written, anything else fails the build.

const run = promisify(execFile);
const script = join(__dirname, "../../scripts/docker/fetch-ca-bundle.mjs");

// Two real self-signed CA certificates, made for the run.
const certificates = (() => {
  const dir = mkdtempSync(join(tmpdir(), "ca-"));
  return ["a", "b"].map((n) => {
    const key = join(dir, `${n}.key`);
    const cert = join(dir, `${n}.pem`);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        `/CN=test-ca-${n}`,
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "ignore" },
    );
    return readFileSync(cert, "utf8");
  });
})();

let server: Server;
let base: string;
const pages: Record<string, [number, string]> = {
  "/bundle.pem": [200, certificates.join("\n")],
  "/error.html": [200, "<html>Access denied</html>"],
  "/missing.pem": [404, certificates[0]!],
  "/empty.pem": [200, "\n"],
  "/trailing.pem": [200, `${certificates[0]}\nnot a certificate\n`],
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const [status, body] = pages[req.url ?? ""] ?? [404, ""];
    res.writeHead(status, { "content-type": "application/x-pem-file" }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const sha256 = (path: string) => createHash("sha256").update(pages[path]![1]).digest("hex");

test("a bundle of certificates is written, every certificate intact", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "bundle-")), "ca-bundle.pem");
  const { stdout } = await run(process.execPath, [
    script,
    `${base}/bundle.pem`,
    sha256("/bundle.pem"),
    out,
  ]);
  expect(stdout).toContain("2 certificates");
  const written = readFileSync(out, "utf8");
  const subjects = written
    .split(/(?<=-----END CERTIFICATE-----)\n/)
    .filter((pem) => pem.trim() !== "")
    .map((pem) => new X509Certificate(pem).subject);
  expect(subjects).toEqual(["CN=test-ca-a", "CN=test-ca-b"]);
});

test.each(["/error.html", "/missing.pem", "/empty.pem", "/trailing.pem"])(
  "%s fails the build and writes nothing",
  async (path) => {
    const out = join(mkdtempSync(join(tmpdir(), "bundle-")), "ca-bundle.pem");
    await expect(
      run(process.execPath, [script, `${base}${path}`, sha256(path), out]),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("not a PEM bundle of certificates"),
    });
    expect(existsSync(out)).toBe(false);
  },
);

// A bundle other than the reviewed one (a CA added upstream, or one slipped in on the way) must
// not become what the tasks trust without a review: the checksum is pinned.
test("a bundle whose SHA-256 is not the pinned one fails the build and writes nothing", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "bundle-")), "ca-bundle.pem");
  await expect(
    run(process.execPath, [script, `${base}/bundle.pem`, sha256("/trailing.pem"), out]),
  ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("not the pinned") });
  expect(existsSync(out)).toBe(false);
});

test("without a checksum the script refuses to run", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "bundle-")), "ca-bundle.pem");
  await expect(run(process.execPath, [script, `${base}/bundle.pem`, out])).rejects.toMatchObject({
    code: 2,
  });
  expect(existsSync(out)).toBe(false);
});
