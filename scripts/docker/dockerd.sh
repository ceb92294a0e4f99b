#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io when dockerd is
# missing and starts it in the background when no engine responds. Safe to run again.
#
# The engine runs with --bridge=none --iptables=false because the build machines allow neither a
# NAT bridge nor iptables rules; containers then use `--network host` (docker build needs
# `--network host` too). Environment:
#   DOCKERD_LOG       where dockerd writes its log (default /var/log/dockerd.log)
#   DOCKERD_TIMEOUT   seconds to wait for the engine to answer (default 60)
set -euo pipefail

log="${DOCKERD_LOG:-/var/log/dockerd.log}"
timeout="${DOCKERD_TIMEOUT:-60}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if docker info >/dev/null 2>&1; then
  echo "dockerd: an engine already answers"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd: installing docker.io with apt"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io
fi

echo "dockerd: starting the engine (log: $log)"
# setsid + nohup detach the engine from this shell so that it outlives the script.
as_root setsid nohup dockerd --bridge=none --iptables=false >>"$log" 2>&1 </dev/null &

for ((i = 0; i < timeout; i++)); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd: ready after ${i}s"
    exit 0
  fi
  sleep 1
done
echo "dockerd: no answer after ${timeout}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
