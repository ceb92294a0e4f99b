import { execFileSync } from "node:child_process";

/**
 * The system's Chromium (Debian's `chromium` package, which scripts/test-servers/install.sh
 * installs): playwright-core drives it, since no browser build can be downloaded here.
 */
export function systemChromium(): string {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // not this name
    }
  }
  throw new Error(
    "headless Chromium is missing: install Debian's package (apt-get install -y chromium, or run bash scripts/test-servers/install.sh as root)",
  );
}

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature) || png.toString("ascii", 12, 16) !== "IHDR") {
    throw new Error("not a PNG");
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
