#!/usr/bin/env bash
# The test command: set-up, then lint (ruff), types (mypy) and the test suite (pytest).
# PostgreSQL (127.0.0.1:5432, trust auth, database `test`) carries every lease and LISTEN/NOTIFY
# test. When it is down, an installed cluster is started; under CI=true a PostgreSQL that is
# still unreachable fails the run here, and any skipped PostgreSQL test fails it in pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

postgres_ready() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }
if ! postgres_ready && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "== starting the installed PostgreSQL cluster(s)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  pg_lsclusters -h 2>/dev/null | while read -r version cluster _; do
    $SUDO pg_ctlcluster "$version" "$cluster" start || true
  done
  for _ in $(seq 20); do postgres_ready && break; sleep 0.5; done
fi
if ! postgres_ready; then
  ci="${CI:-}"
  if [[ "${ci,,}" =~ ^(true|1|yes)$ ]]; then
    echo "PostgreSQL at 127.0.0.1:5432 is not reachable; CI=true needs it (see README: Tests)" >&2
    exit 1
  fi
  echo "warning: PostgreSQL at 127.0.0.1:5432 is not reachable: its tests will SKIP" >&2
fi

echo "== ruff"; ruff check .; ruff format --check .
echo "== mypy"; mypy .
echo "== pytest"; pytest "$@"
