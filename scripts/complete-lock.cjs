// Adds package-lock.json entries for platform-specific optional packages (other OSes' and CPUs'
// builds of @swc/core and the like) that a registry mirror serving only linux-x64 leaves out.
// Without them `npm ci` refuses the lock as out of sync. Run it after `npm install` on such a
// machine: node scripts/complete-lock.cjs
const fs = require("fs");
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const cpus = ["arm64", "x64", "arm", "ppc64", "s390x", "ia32", "loong64", "riscv64", "wasm32"];
let added = 0;
for (const pkg of Object.values(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const where = `node_modules/${dep}`;
    if (lock.packages[where]) continue;
    const parts = dep.split("/").pop().split("-");
    const os = ["darwin", "linux", "win32", "android", "freebsd", "openharmony"].find((o) =>
      parts.includes(o),
    );
    const cpu = cpus.find((c) => parts.includes(c)) ?? (parts.includes("arm") ? "arm" : undefined);
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${dep}`);
    const entry = { version, cpu: [cpu], os: [os], optional: true };
    if (parts.some((p) => p === "musl" || p === "musleabihf")) entry.libc = ["musl"];
    else if (os === "linux" && parts.some((p) => p.startsWith("gnu"))) entry.libc = ["glibc"];
    lock.packages[where] = entry;
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
lock.packages = sorted;
fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
console.log(`added ${added}`);
