#!/usr/bin/env bash
# Install the Debian packages the tests and the deployment need, only when missing:
#   chromium  the real browser the widget's end-to-end tests drive (no browser download)
#   nginx     the load balancer in front of several Rasa servers (scaling)
#   npm       builds the chat widget (scripts/build-widget.sh); only if no Node.js is installed
#   faketime  moves the clock for the date-sensitive tests (tests/test_any_date.py)
# Idempotent and quiet when everything is present; works as root in CI with no stdin.
set -euo pipefail

# package -> a command it provides (what we actually check for)
declare -A NEEDS=(
  [chromium]=/usr/bin/chromium
  [nginx]=/usr/sbin/nginx
  [npm]=npm
  [faketime]=/usr/bin/faketime
)

present() { [[ -x $1 ]] || command -v "$1" >/dev/null 2>&1; }

missing=()
for pkg in "${!NEEDS[@]}"; do
  present "${NEEDS[$pkg]}" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "system-deps: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo ">>> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
# nginx: don't let the package start a server on port 80 during install (CI, containers).
$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
for pkg in "${missing[@]}"; do
  present "${NEEDS[$pkg]}" || { echo "system-deps: $pkg did not install" >&2; exit 1; }
done
