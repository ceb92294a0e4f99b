#!/usr/bin/env bash
# Builds the service image (the repository's Dockerfile) on the local engine, the way the Pulumi
# program's docker.Image does, and prints its size. Usage:
#   scripts/docker/build.sh [TAG]          TAG defaults to platform/services:local
# Environment:
#   NODE_IMAGE   base image (the Dockerfile's NODE_IMAGE). Unset: local/node:24, built first by
#                scripts/docker/base-image.sh when missing, since this machine has no registry.
#                Set it to node:24-bookworm-slim where the official image can be pulled.
#   TARGET       a Dockerfile stage to build instead of the default one: `media`, the variant
#                with FFmpeg and espeak-ng that the catalog's `media: true` services run.
# The build runs with --network host: engines started by scripts/docker/dockerd.sh have no bridge,
# so the default build network could not reach the npm registry.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
tag="${1:-platform/services:local}"

if [ -z "${NODE_IMAGE:-}" ]; then
  bash "$repo/scripts/docker/base-image.sh"
  NODE_IMAGE=local/node:24
fi

start=$SECONDS
docker build --quiet --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" \
  ${TARGET:+--target "$TARGET"} -t "$tag" "$repo" >/dev/null
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
echo "build: $tag built in $((SECONDS - start))s ($(size "$tag"); base $NODE_IMAGE $(size "$NODE_IMAGE"))"
