#!/usr/bin/env bash
# Regenerate requirements.txt (exact versions with hashes) from requirements.in.
# Needs pip-tools in a Python 3.10 environment: python3.10 -m venv /tmp/t && /tmp/t/bin/pip install pip-tools
set -euo pipefail
cd "$(dirname "$0")/.."
PIPCOMPILE=${PIPCOMPILE:-pip-compile}
"$PIPCOMPILE" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
  --output-file requirements.txt requirements.in
