#!/usr/bin/env bash
# Builds the stand-in images of README.md beside this file on the local engine: local/redis:standin,
# local/postgres:standin and local/kafka:standin, on the base image of scripts/docker/base-image.sh.
# Skips an image that exists (FORCE=1 rebuilds). Builds run with --network host (apt, as the
# engine of scripts/docker/dockerd.sh has no bridge for builds).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
base="${BASE_IMAGE:-local/node:24}"
IMAGE="$base" bash "$repo/scripts/docker/base-image.sh"

build() { # <name> <context>
  local image="local/$1:standin" start=$SECONDS
  if [ -z "${FORCE:-}" ] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "standins: $image exists"
    return
  fi
  docker build --quiet --network host --build-arg "BASE=$base" -t "$image" "$2" >/dev/null
  echo "standins: $image built in $((SECONDS - start))s"
}

build redis "$here/redis"
build postgres "$here/postgres"
# The broker's jars come from Maven Central through the test servers' installer (one copy).
bash "$repo/scripts/test-servers/install.sh" --quiet
kafka_version="$(tr -d '[:space:]' <"$repo/scripts/test-servers/kafka.version")"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp -R "$here/kafka/." "$ctx/"
cp -R "$repo/.tools/kafka/$kafka_version/libs" "$ctx/libs"
# The broker's runtime lacks the tools jar that kafka-broker-api-versions.sh (the health check) runs.
tools="$repo/.tools/kafka/$kafka_version/kafka-tools-$kafka_version.jar"
if [ ! -f "$tools" ]; then
  mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="org.apache.kafka:kafka-tools:$kafka_version" \
    -DoutputDirectory="$(dirname "$tools")" </dev/null
fi
cp "$tools" "$ctx/libs/"
build kafka "$ctx"
