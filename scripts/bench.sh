#!/usr/bin/env bash
# Runs the benchmarks (all, or the ones named: generator composer load), each comparing
# against its baseline in the same run and printing ratios. Results go in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
if ! python -c "import moviepy" 2>/dev/null; then
  echo "bench: installing the bench extra (MoviePy, the composer's baseline)" >&2
  python -m pip install -q -e '.[bench]'
fi
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(generator composer load)
for name in "${benches[@]}"; do
  echo "== bench: $name"
  python -m "bench.${name}_bench"
done
