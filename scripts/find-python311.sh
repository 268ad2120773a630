#!/usr/bin/env bash
# Print the path of a working Python 3.11 interpreter (or newer 3.x, see below), or explain how
# to get one. The edge environment (.venv-edge: web server, Telegram service) runs on it:
# Python 3.10, which Rasa 3.6 needs, reached end of life in October 2026 and must not face the
# internet. Its lock (requirements-edge.txt) is generated for 3.11, so 3.11 is what we look for.
set -u
for cand in "${PYTHON_EDGE:-}" python3.11 "$HOME/.pyenv/versions/3.11"*/bin/python3.11 /usr/bin/python3.11 /usr/local/bin/python3.11; do
  [ -n "$cand" ] || continue
  if out=$("$cand" -c 'import sys; print(sys.version_info[:2] == (3, 11))' 2>/dev/null) && [ "$out" = "True" ]; then
    command -v "$cand" 2>/dev/null || echo "$cand"
    exit 0
  fi
  # pyenv shims answer "command not found" unless 3.11 is selected: try that.
  if out=$(PYENV_VERSION="$(ls "$HOME/.pyenv/versions" 2>/dev/null | grep '^3\.11' | tail -1)" "$cand" -c 'import sys; print(sys.executable if sys.version_info[:2] == (3, 11) else "")' 2>/dev/null) && [ -n "$out" ]; then
    echo "$out"
    exit 0
  fi
done
cat >&2 <<'MSG'
error: Python 3.11 was not found. The internet-facing processes (web server, Telegram) run on
Python 3.11 in their own environment, .venv-edge (docs/security.md).
Install it with your package manager (e.g. `apt-get install python3.11 python3.11-venv`),
with pyenv (`pyenv install 3.11`), or point PYTHON_EDGE at it:
`make run PYTHON_EDGE=/path/to/python3.11`.
MSG
exit 1
