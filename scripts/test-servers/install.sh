#!/usr/bin/env bash
# Installs the real servers that the test suite starts (test/servers/): Redis and PostgreSQL from
# Debian's packages, and the Apache Kafka broker's jars from Maven Central. Idempotent: a machine
# that already has everything spends only a few file checks here, so CI and jest's global setup
# may both call it. Runs unattended (CI=true, no stdin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# One file pins the broker version so that this script and test/servers/kafka.ts agree on it.
KAFKA_VERSION="$(tr -d '[:space:]' < "$ROOT/scripts/test-servers/kafka.version")"
KAFKA_HOME="$ROOT/.tools/kafka/$KAFKA_VERSION"

# --quiet: say nothing when there is nothing to do (jest's global setup calls it on every run).
quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true

say() { echo "test-servers: $*"; }
ok() { $quiet || say "$@"; }
fail() { echo "test-servers: ERROR: $*" >&2; exit 1; }

cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT

mkdir -p "$ROOT/.tools/kafka"
# A CI step and a jest run may install at the same time; apt and the rename below must not race.
exec 9> "$ROOT/.tools/kafka/.install.lock"
flock 9

have_initdb() { compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; }

packages=()
command -v redis-server > /dev/null || packages+=(redis-server)
have_initdb || packages+=(postgresql)
command -v java > /dev/null || packages+=(openjdk-17-jre-headless)
command -v mvn > /dev/null || packages+=(maven)
command -v runuser > /dev/null || packages+=(util-linux)
# Headless Chromium for the status page's screenshot test (test/e2e/statusPage.test.ts).
command -v chromium > /dev/null || packages+=(chromium)
# The render engine's tools (services/render/media.ts): FFmpeg, a speech synthesizer, a font.
command -v ffmpeg > /dev/null || packages+=(ffmpeg)
command -v espeak-ng > /dev/null || packages+=(espeak-ng)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || packages+=(fonts-dejavu-core)

if ((${#packages[@]} > 0)); then
  say "missing: ${packages[*]}; installing them with apt-get"
  [[ "$(id -u)" == 0 ]] || fail "installing ${packages[*]} needs root: run 'sudo apt-get install -y ${packages[*]}' or run this script as root"
  command -v apt-get > /dev/null || fail "no apt-get on this machine: install ${packages[*]} with its package manager"
  # Debian starts a packaged server (and PostgreSQL creates its 'main' cluster) on install; the
  # tests start their own on free ports, so a policy-rc.d keeps those daemons from starting.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    cleanup+=("$policy")
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed: cannot reach Debian's package repository"
  apt-get install -y -qq --no-install-recommends "${packages[@]}" < /dev/null \
    || fail "apt-get install ${packages[*]} failed"
  command -v redis-server > /dev/null || fail "redis-server still missing after apt-get install redis-server"
  have_initdb || fail "/usr/lib/postgresql/*/bin/initdb still missing after apt-get install postgresql"
  command -v chromium > /dev/null || fail "chromium still missing after apt-get install chromium"
  command -v ffmpeg > /dev/null || fail "ffmpeg still missing after apt-get install ffmpeg"
else
  ok "redis-server, postgresql, chromium and ffmpeg are installed"
fi

# PostgreSQL refuses to run as root; as root, test/servers/postgres.ts runs it as this user.
if [[ "$(id -u)" == 0 ]] && ! id -u postgres > /dev/null 2>&1; then
  say "creating the system user 'postgres'"
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres \
    || fail "cannot create the user 'postgres' that PostgreSQL runs as"
fi

if [[ -f "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
  ok "kafka $KAFKA_VERSION is in $KAFKA_HOME/libs"
  exit 0
fi

say "fetching kafka_2.13 $KAFKA_VERSION and its runtime dependencies from Maven Central"
work="$(mktemp -d)"
cleanup+=("$work")
# log4j-slf4j-impl binds Kafka's slf4j logging to log4j2 (the broker's distribution ships it too);
# without a binding the broker logs nothing, not even why it failed to start.
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.test-servers</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.25.5</version>
    </dependency>
  </dependencies>
</project>
POM
mkdir -p "$KAFKA_HOME"
rm -rf "$KAFKA_HOME/libs.partial"
mvn -B -q -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$KAFKA_HOME/libs.partial" < /dev/null \
  || fail "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is Maven Central reachable?)"
# The rename is atomic, so a half-copied folder is never taken for a complete one.
mv "$KAFKA_HOME/libs.partial" "$KAFKA_HOME/libs"
say "kafka $KAFKA_VERSION: $(ls "$KAFKA_HOME/libs" | wc -l) jars in $KAFKA_HOME/libs"
