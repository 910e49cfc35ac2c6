#!/usr/bin/env bash
# Run the whole test suite in the engine venv, setting it up first when needed (idempotent).
# Usage: bash launch/test.sh [pytest args...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPYRE_HYDRA_VENV:-$REPO/.venv-engine}"
bash "$REPO/launch/setup_engine.sh" "$VENV" --with-project >&2
cd "$REPO"
# Tests never reach a model hub: the tiny checkpoints are built locally, and every engine
# process gets HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE from conf/backend/{eager,cpu}.yaml. They are
# not exported here, or each sweep job would see them as the user's own ("kept") settings.
exec "$VENV/bin/python" -m pytest -q "$@"
