#!/usr/bin/env bash
# Print the path of a Python interpreter of the given minor version (e.g. 3.10): PATH first, then pyenv.
set -euo pipefail
want="$1"
if command -v "python$want" >/dev/null 2>&1 && "python$want" -c 'import sys' >/dev/null 2>&1; then
  command -v "python$want"; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
    if [ -x "$dir/bin/python" ]; then echo "$dir/bin/python"; exit 0; fi
  done
fi
echo "error: no Python $want interpreter found (PATH or pyenv); Rasa 3.6 needs Python 3.8-3.10" >&2
exit 1
