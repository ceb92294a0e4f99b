#!/usr/bin/env bash
# The project's way to run the real Pulumi CLI: `bash scripts/pulumi/pulumi.sh ARGS...` (npm run
# preview|up|destroy|pulumi wrap it, under Node 24). It
# - uses a `pulumi` already on PATH at version >= $MIN_VERSION, as Pulumi's installer puts it;
# - else builds the toolchain kit in ../shared/pulumi (CLI, Node.js language host, the docker,
#   random and kubernetes providers) into a cache outside the clone, so clean clones on the same
#   machine share it (cold about 10 minutes on 2 cores, then 0.1 s), and installs its plugins;
# - keeps state in a local file backend, $PULUMI_BACKEND_URL if set, else .pulumi/state in the
#   checkout (git ignores it), never Pulumi Cloud by default;
# - with that default backend and no PULUMI_CONFIG_PASSPHRASE(_FILE), uses a passphrase generated
#   once into .pulumi/passphrase (mode 0600): back it up with the state;
# - for `preview|up|destroy|refresh --stack NAME`, creates the stack when it does not exist yet.
#   `pulumi stack init` writes the stack's `encryptionsalt:` into Pulumi.NAME.yaml (README, "The
#   real CLI"): commit it with your stack's settings, or leave it out of commits.
# `bash scripts/pulumi/pulumi.sh --ensure` only makes the CLI available and prints where it is;
# `--env` prints it and the state settings (below) for the Automation API.
# Environment: PULUMI_KIT (default ../shared/pulumi beside the checkout), PULUMI_KIT_PREFIX
# (default ${XDG_CACHE_HOME:-~/.cache}/resilient-gateway-platform/pulumi-kit).
set -euo pipefail

MIN_VERSION=3.276.0
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kit="${PULUMI_KIT:-$repo/../shared/pulumi}"
prefix="${PULUMI_KIT_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/resilient-gateway-platform/pulumi-kit}"
say() { echo "pulumi.sh: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

version_ok() { # <pulumi binary>: its version is at least MIN_VERSION
  local v
  v="$("$1" version 2>/dev/null | tr -d 'v')" || return 1
  [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -n 1)" = "$MIN_VERSION" ]
}

ensure_cli() {
  if command -v pulumi >/dev/null 2>&1 && version_ok "$(command -v pulumi)"; then
    return
  fi
  if [ -x "$prefix/bin/pulumi" ] && [ ! -d "$kit" ]; then
    export PATH="$prefix/bin:$PATH"
    return
  fi
  [ -d "$kit" ] || die "no pulumi >= $MIN_VERSION on PATH and no toolchain kit at $kit. Install Pulumi (https://www.pulumi.com/docs/install/), or set PULUMI_KIT to the kit's folder."
  command -v go >/dev/null 2>&1 || die "no pulumi >= $MIN_VERSION on PATH, and Go (>= 1.26.6), which the kit at $kit needs to build one, is missing. Install Pulumi or Go."
  say "building the Pulumi CLI and providers from $kit into $prefix (cold: about 10 minutes; later runs reuse it)"
  mkdir -p "$prefix"
  # One build at a time: parallel test workers and a developer's shell may all ask at once.
  (
    flock 9
    bash "$kit/build.sh" "$prefix" >&2
    bash "$kit/install-plugins.sh" "$prefix" >/dev/null
  ) 9>"$prefix/.lock" || die "the kit's build failed (output above)"
  export PATH="$prefix/bin:$PATH"
}

ensure_cli
export PULUMI_SKIP_UPDATE_CHECK=true
if [ "${1:-}" = --ensure ]; then
  command -v pulumi
  exit 0
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$repo/.pulumi/state"
  export PULUMI_BACKEND_URL="file://$repo/.pulumi/state"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    passphrase="$repo/.pulumi/passphrase"
    if [ ! -s "$passphrase" ]; then
      (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$passphrase")
      say "generated the secrets passphrase of the local state into $passphrase (keep it with .pulumi/state)"
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase"
  fi
fi

# `--env`: the CLI and the state settings above as NAME=value lines, for a program that drives
# the engine itself through the Automation API (`npm run upgrade -- --stack NAME`).
if [ "${1:-}" = --env ]; then
  echo "PULUMI=$(command -v pulumi)"
  for name in PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_SKIP_UPDATE_CHECK; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}"; fi
  done
  exit 0
fi

# `--stack NAME` / `-s NAME` / `--stack=NAME` of a deployment command: create the stack first.
case "${1:-}" in
  preview | up | update | destroy | refresh)
    stack=""
    prev=""
    for arg in "$@"; do
      case "$prev" in --stack | -s) stack="$arg" ;; esac
      case "$arg" in --stack=*) stack="${arg#--stack=}" ;; esac
      prev="$arg"
    done
    if [ -n "$stack" ] && ! pulumi stack ls --json 2>/dev/null | grep -q "\"name\": *\"$stack\""; then
      say "creating the stack $stack (state: $PULUMI_BACKEND_URL)"
      pulumi stack init "$stack" --non-interactive >&2
    fi
    ;;
esac
exec pulumi "$@"
