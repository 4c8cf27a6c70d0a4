#!/usr/bin/env bash
# The main job: installs what is missing, builds the release binary, then runs `catena dev`: a local Tansu
# broker, the chain's topics, the coordinator, one worker process per step, real flights through the
# chain, and a summary. Extra arguments go to `catena dev` (e.g. --limit 50000, --all, --workers-per-step 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec "$ROOT/.build/release/catena" dev "$@"
