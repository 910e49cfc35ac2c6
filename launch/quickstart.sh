#!/usr/bin/env bash
# Set up the engine venv and run the main job on the embedded default: the tiny Granite
# checkpoint (built locally on first use) through the Spyre plugin on CPU.
# Usage: bash launch/quickstart.sh [spyre-launch overrides...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPYRE_HYDRA_VENV:-$REPO/.venv-engine}"
bash "$REPO/launch/setup_engine.sh" "$VENV" --with-project >&2
status=0
"$VENV/bin/spyre-launch" "$@" || status=$?
# The console scripts live in the venv: without this line the README's next commands
# end in "command not found". On stderr, so stdout stays the job's output.
printf 'Next: source %q/bin/activate   # puts spyre-launch and spyre-hydra on PATH\n' "$VENV" >&2
exit "$status"
