#!/usr/bin/env bash
# axe-core (Deque's accessibility engine) for the browser tests in tests/web/test_webchat_a11y.py.
# Installed from the npm registry under var/ (ignored by git); the tests inject axe.min.js into
# the page. Idempotent: does nothing when the pinned version is already there.
set -euo pipefail

VERSION="${AXE_CORE_VERSION:-4.14.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${TUA_AXE_DIR:-$ROOT/var/tools/axe}"
PACKAGE="$DEST/node_modules/axe-core/package.json"

if [[ -f "$PACKAGE" ]] && grep -q "\"version\": \"$VERSION\"" "$PACKAGE"; then
  exit 0
fi
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-save --no-audit --no-fund --ignore-scripts --silent \
  "axe-core@$VERSION"
test -f "$DEST/node_modules/axe-core/axe.min.js"
