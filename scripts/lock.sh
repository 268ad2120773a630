#!/usr/bin/env bash
# Regenerate the exact locks (versions with hashes) from their .in files:
#   requirements.txt       <- requirements.in       the Rasa side's runtime (Python 3.10)
#   requirements-dev.txt   <- requirements-dev.in   test and development tools, within the runtime
#                                                   lock's versions (Python 3.10)
#   requirements-edge.txt  <- requirements-edge.in  the internet-facing processes (Python 3.11)
# usage: scripts/lock.sh [main|dev|edge|all]   (default: all)
# Needs pip-tools in a Python 3.10 environment and another in Python 3.11:
#   python3.10 -m venv /tmp/t && /tmp/t/bin/pip install pip-tools==7.4.1
#   python3.11 -m venv /tmp/t11 && /tmp/t11/bin/pip install pip-tools==7.4.1
#   PIPCOMPILE=/tmp/t/bin/pip-compile PIPCOMPILE_EDGE=/tmp/t11/bin/pip-compile scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PIPCOMPILE=${PIPCOMPILE:-pip-compile}
PIPCOMPILE_EDGE=${PIPCOMPILE_EDGE:-pip-compile}
ARGS=(--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url)

lock() {  # tool python-version in out [extra args]
  local tool=$1 want=$2 in=$3 out=$4; shift 4
  local have
  have=$("$(dirname "$(command -v "$tool")")/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ $have != "$want" ]]; then
    echo "lock.sh: $out is locked with Python $want, but $tool runs on $have" >&2
    exit 1
  fi
  "$tool" "${ARGS[@]}" "$@" --output-file "$out" "$in"
}

case "${1:-all}" in
  main) lock "$PIPCOMPILE" 3.10 requirements.in requirements.txt ;;
  dev)  lock "$PIPCOMPILE" 3.10 requirements-dev.in requirements-dev.txt ;;
  # no --find-links line: nothing of the edge comes from this machine's local wheels
  edge) lock "$PIPCOMPILE_EDGE" 3.11 requirements-edge.in requirements-edge.txt --no-emit-find-links ;;
  all)  "$0" main && "$0" dev && "$0" edge ;;
  *) echo "usage: scripts/lock.sh [main|dev|edge|all]" >&2; exit 2 ;;
esac
