#!/bin/sh
# Container entry point: a clustered node binds Hazelcast and the event bus to this container's
# own address unless AGENTHUB_CLUSTER_HOST says otherwise (Kubernetes passes the pod IP).
set -e
if [ "${AGENTHUB_CLUSTER:-false}" = "true" ] && [ -z "${AGENTHUB_CLUSTER_HOST:-}" ]; then
  AGENTHUB_CLUSTER_HOST="$(hostname -i | awk '{print $1}')"
  export AGENTHUB_CLUSTER_HOST
fi
# the tools (the demo's mock LLM, the benchmarks) run from their own jar
case "${1:-}" in
  mock-llm|bench) jar=/app/agenthub-devtools.jar ;;
  *) jar=/app/agenthub.jar ;;
esac
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -jar "$jar" "$@"
