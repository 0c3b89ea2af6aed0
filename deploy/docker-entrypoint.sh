#!/bin/sh
# Entry point of the juke-core image: one image, every component, chosen by the first argument.
#
#   docker run juke-core identity            # python -m services.identity
#   docker run juke-core migrate             # python -m services.cli migrate (`juke migrate`)
#   docker run juke-core juke corpus summary # any `juke` sub-command
#
# The module of each component is the one `juke up` launches (services/cli/components.py);
# tests/unit/test_deploy_manifests.py checks that this list, compose.yaml and k8s/ agree.
set -eu

COMPONENTS="identity governance embedder ranker embedder-worker ranker-worker gateway migrate juke"

usage() {
    cat <<EOF
usage: docker-entrypoint.sh COMPONENT [ARGS...]

components: $COMPONENTS
  identity | governance | embedder | ranker   gRPC services (python -m services.<name>)
  embedder-worker | ranker-worker              Temporal workers (python -m services.<name>.worker)
  gateway                                      REST gateway (python -m gateway)
  migrate                                      run every service's Alembic migrations, then exit
  juke ARGS...                                 the juke CLI (python -m services.cli ARGS...)
  healthcheck grpc HOST:PORT | http URL        probe a component (exit 0 when healthy)
EOF
}

component="${1:-}"
if [ "$#" -gt 0 ]; then
    shift
fi

case "$component" in
    identity)        exec python -m services.identity "$@" ;;
    governance)      exec python -m services.governance "$@" ;;
    embedder)        exec python -m services.embedder "$@" ;;
    ranker)          exec python -m services.ranker "$@" ;;
    embedder-worker) exec python -m services.embedder.worker "$@" ;;
    ranker-worker)   exec python -m services.ranker.worker "$@" ;;
    gateway)         exec python -m gateway "$@" ;;
    migrate)         exec python -m services.cli migrate "$@" ;;
    juke)            exec python -m services.cli "$@" ;;
    healthcheck)
        # Same probes as `juke status`: grpc.health.v1 Check answers SERVING / GET answers 200.
        exec python -c '
import sys
from services.cli.health import check_grpc, check_http
if len(sys.argv) != 3 or sys.argv[1] not in ("grpc", "http"):
    sys.exit("usage: healthcheck grpc HOST:PORT | http URL")
kind, target = sys.argv[1], sys.argv[2]
problem = (check_grpc if kind == "grpc" else check_http)(target, 3.0)
if problem:
    sys.exit(problem)
' "$@" ;;
    help | -h | --help)
        usage
        exit 0 ;;
    "")
        echo "docker-entrypoint.sh: no component given" >&2
        usage >&2
        exit 64 ;;
    *)
        echo "docker-entrypoint.sh: unknown component '$component' (expected one of: $COMPONENTS)" >&2
        usage >&2
        exit 64 ;;
esac
