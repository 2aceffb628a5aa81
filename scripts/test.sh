#!/usr/bin/env bash
# The whole suite, as CI runs it: lint, types, layer contracts, then tests.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PATHS=(drivers acquisition uncertainty certificates api lab simulators registry benchmarks tests)
echo "== ruff";          $BIN/ruff check "${PATHS[@]}"
echo "== ruff format";   $BIN/ruff format --check "${PATHS[@]}"
echo "== mypy";          $BIN/mypy drivers acquisition uncertainty certificates api lab simulators registry
echo "== import-linter"; $BIN/lint-imports
echo "== pytest"
args=(-q -p no:cacheprovider --durations=15)
[ "${CI:-}" = "true" ] && args+=(--hypothesis-profile=ci)
$BIN/python -m pytest "${args[@]}" "$@"
