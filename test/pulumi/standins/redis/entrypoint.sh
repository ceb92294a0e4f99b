#!/bin/sh
# The official image builds Redis with protected mode off, so that other containers can connect
# without a password; Debian's build keeps it on: turn it off for `redis-server` commands.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server "$@" --protected-mode no
fi
exec "$@"
