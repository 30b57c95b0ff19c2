#!/usr/bin/env bash
# The test command: set-up, then lint (ruff), types (mypy) and the test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .; ruff format --check .
echo "== mypy"; mypy .
echo "== pytest"; pytest "$@"
