#!/bin/sh
# apache/kafka's contract: every KAFKA_* variable (but the JVM ones) is a server.properties key,
# KAFKA_FOO_BAR -> foo.bar, with "__" -> "_" and "___" -> "-"; CLUSTER_ID names the cluster (one
# is generated at first start otherwise); the log dirs are formatted once, then the broker runs.
set -eu
props=/opt/kafka/config/server.properties
env | grep '^KAFKA_' | grep -Ev '^KAFKA_(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|LOG4J_OPTS|GC_LOG_OPTS|JMX_OPTS|DEBUG)=' |
  while IFS= read -r line; do
    name="${line%%=*}"
    value="${line#*=}"
    key="$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/\x01/g' -e 's/_/./g' -e 's/\x01/_/g')"
    printf '%s=%s\n' "$key" "$value"
  done >"$props"
# Kafka 4's share-group state topic defaults to 3 replicas; a single-node broker has one.
grep -q '^share.coordinator.state.topic.replication.factor=' "$props" ||
  printf 'share.coordinator.state.topic.replication.factor=1\nshare.coordinator.state.topic.min.isr=1\n' >>"$props"
logdirs="$(sed -n 's/^log\.dirs=//p' "$props")"
first="${logdirs%%,*}"
if [ ! -f "${first:-/tmp/kafka-logs}/meta.properties" ]; then
  id="${CLUSTER_ID:-}"
  while [ -z "$id" ] || [ "${id#-}" != "$id" ]; do
    id="$(KAFKA_HEAP_OPTS=-Xmx64m /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool random-uuid)"
  done
  /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool format -t "$id" -c "$props"
fi
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$props"
