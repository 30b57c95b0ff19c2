#!/usr/bin/env bash
# The main command: set-up, then render examples/brief.yaml (or the brief given) into out/ad.mp4
# with a private local stack (planner, generator, composer, studio, gateway): the studio makes the
# ad, `reelforge ad` follows it and downloads it. Offline (animatic providers) unless API keys are set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
brief="${1:-examples/brief.yaml}"
reelforge ad "$brief" -o out/ad.mp4 --start-stack
echo "your ad: $PWD/out/ad.mp4 (storyboard: $PWD/out/storyboard.png)"
