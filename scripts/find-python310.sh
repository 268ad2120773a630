#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter, or explain how to get one.
# Rasa Open Source 3.6 supports Python 3.7-3.10 only, so 3.10 is required.
set -u
for cand in "${PYTHON:-}" python3.10 "$HOME/.pyenv/versions/3.10"*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  [ -n "$cand" ] || continue
  if out=$("$cand" -c 'import sys; print(sys.version_info[:2] == (3, 10))' 2>/dev/null) && [ "$out" = "True" ]; then
    command -v "$cand" 2>/dev/null || echo "$cand"
    exit 0
  fi
  # pyenv shims answer "command not found" unless 3.10 is selected: try that.
  if out=$(PYENV_VERSION="$(ls "$HOME/.pyenv/versions" 2>/dev/null | grep '^3\.10' | tail -1)" "$cand" -c 'import sys; print(sys.executable if sys.version_info[:2] == (3, 10) else "")' 2>/dev/null) && [ -n "$out" ]; then
    echo "$out"
    exit 0
  fi
done
cat >&2 <<'MSG'
error: Python 3.10 was not found. Rasa Open Source 3.6 runs on Python 3.10 at the newest.
Install it with your package manager (e.g. `apt-get install python3.10 python3.10-venv`),
with pyenv (`pyenv install 3.10`), or point PYTHON at it: `make run PYTHON=/path/to/python3.10`.
MSG
exit 1
