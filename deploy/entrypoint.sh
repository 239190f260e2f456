#!/bin/sh
# Container entry point: a clustered node binds Hazelcast and the event bus to this container's
# own address unless AGENTHUB_CLUSTER_HOST says otherwise (Kubernetes passes the pod IP).
set -e
if [ "${AGENTHUB_CLUSTER:-false}" = "true" ] && [ -z "${AGENTHUB_CLUSTER_HOST:-}" ]; then
  AGENTHUB_CLUSTER_HOST="$(hostname -i | awk '{print $1}')"
  export AGENTHUB_CLUSTER_HOST
fi
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -jar /app/agenthub.jar "$@"
