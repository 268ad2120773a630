#!/usr/bin/env bash
# Build the chat widget bundle bot/services/web/static/widget.js from web/ (npm ci + esbuild).
# Skips when the bundle is newer than every source, so `make` can call it every time.
# usage: scripts/build-widget.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=bot/services/web/static/widget.js
SOURCES=(web/package.json web/package-lock.json $(find web/src -type f))

if [[ "${1:-}" != "--force" && -f $OUT ]]; then
  stale=0
  for src in "${SOURCES[@]}"; do
    [[ $src -nt $OUT ]] && { stale=1; break; }
  done
  [[ $stale -eq 0 ]] && exit 0
fi

if ! command -v npm >/dev/null; then
  echo "build-widget: npm not found; install Node.js 18 or newer with npm" >&2
  exit 1
fi

cd web
# npm ci: exactly the versions in package-lock.json; again only when the lock changed.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo ">>> installing the widget's pinned JavaScript dependencies (web/package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error </dev/null
fi
echo ">>> building the chat widget into $OUT"
npm run --silent build -- --log-level=warning </dev/null
cd ..
printf '    %s: %s bytes, %s gzipped\n' "$OUT" "$(wc -c <"$OUT")" "$(gzip -9c "$OUT" | wc -c)"
