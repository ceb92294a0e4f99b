#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io when dockerd is
# missing and starts it in the background when no engine responds. Safe to run again.
#
# The engine runs with --bridge=none: the build machines have no default NAT bridge, so image
# builds use `--network host`. It manages iptables where the machine lets it: that is what keeps
# the Docker stack's networks apart by address (infra/docker/networks.ts); where iptables rules are
# refused, it starts again with --iptables=false, and the networks then separate names only
# (test/pulumi/dockerLifecycle.test.ts says so when it skips that check). Environment:
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

# Starts dockerd with the given flags and waits for it: 0 once it answers, 1 if it exits first
# or does not answer in time.
start() {
  echo "dockerd: starting the engine with $* (log: $log)"
  # setsid + nohup detach the engine from this shell so that it outlives the script.
  as_root setsid nohup dockerd "$@" >>"$log" 2>&1 </dev/null &
  for ((i = 0; i < timeout; i++)); do
    if docker info >/dev/null 2>&1; then
      echo "dockerd: ready after ${i}s"
      return 0
    fi
    pgrep -x dockerd >/dev/null || return 1
    sleep 1
  done
  return 1
}

start --bridge=none && exit 0
echo "dockerd: no engine with iptables rules; starting one without (networks then separate names only)" >&2
as_root pkill -x dockerd || true
sleep 2
start --bridge=none --iptables=false && exit 0
echo "dockerd: no answer after ${timeout}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
