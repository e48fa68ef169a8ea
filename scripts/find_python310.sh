#!/usr/bin/env bash
# Print the path of a working Python 3.10: PATH first, then pyenv's versions.
# (A pyenv shim on PATH may exist without 3.10 being active, so each candidate is run.)
candidates=()
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
for p in "$root"/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  [ -x "$p" ] && candidates+=("$p")
done
for p in "${candidates[@]}"; do
  if "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then
    echo "$p"; exit 0
  fi
done
exit 1
