#!/usr/bin/env bash
# Run the Chinese test stories; print a readable summary; failed stories land in results/core.
set -uo pipefail
cd "$(dirname "$0")/.."
out=results/core
rm -rf "$out"; mkdir -p "$out"
.venv/bin/python -m xiaoan.runtime test core --stories tests/test_stories.yml --out "$out" --fail-on-prediction-errors >"$out/rasa_test.log" 2>&1
status=$?
.venv/bin/python scripts/summarise_stories.py "$out" || true
if [ $status -ne 0 ]; then
  echo "Story test FAILED (exit $status). Failed stories: $out/failed_test_stories.yml; log: $out/rasa_test.log"
  tail -n 20 "$out/rasa_test.log"
fi
exit $status
