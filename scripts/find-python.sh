#!/usr/bin/env bash
# usage: scripts/find-python.sh 3.10|3.11
# Print the path of a working Python interpreter of that version, or explain how to get one.
#   3.10: the Rasa side (.venv): Rasa Open Source 3.6 runs on Python 3.10 at the newest.
#   3.11: the edge (.venv-edge: web server, Telegram service): Python 3.10 reached end of life in
#         October 2026 and must not face the internet; requirements-edge.txt is locked for 3.11.
set -u
want=${1:?usage: scripts/find-python.sh 3.10|3.11}
case $want in
  3.10) override=${PYTHON:-}; var=PYTHON
        why="Rasa Open Source 3.6 runs on Python 3.10 at the newest." ;;
  3.11) override=${PYTHON_EDGE:-}; var=PYTHON_EDGE
        why="The internet-facing processes (web server, Telegram) run on Python 3.11 in their own environment, .venv-edge (docs/security.md)." ;;
  *) echo "find-python.sh: unknown version $want (3.10 or 3.11)" >&2; exit 2 ;;
esac
minor=${want#3.}
check="import sys; print(sys.version_info[:2] == (3, $minor))"
for cand in "$override" "python$want" "$HOME/.pyenv/versions/$want"*/bin/"python$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
  [ -n "$cand" ] || continue
  if out=$("$cand" -c "$check" 2>/dev/null) && [ "$out" = "True" ]; then
    command -v "$cand" 2>/dev/null || echo "$cand"
    exit 0
  fi
  # pyenv shims answer "command not found" unless that version is selected: try that.
  if out=$(PYENV_VERSION="$(ls "$HOME/.pyenv/versions" 2>/dev/null | grep "^3\.$minor" | tail -1)" "$cand" -c "import sys; print(sys.executable if sys.version_info[:2] == (3, $minor) else '')" 2>/dev/null) && [ -n "$out" ]; then
    echo "$out"
    exit 0
  fi
done
cat >&2 <<MSG
error: Python $want was not found. $why
Install it with your package manager (e.g. \`apt-get install python$want python$want-venv\`),
with pyenv (\`pyenv install $want\`), or point $var at it: \`make run $var=/path/to/python$want\`.
MSG
exit 1
