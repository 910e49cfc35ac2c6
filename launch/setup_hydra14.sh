#!/usr/bin/env bash
# A small venv on the next Hydra/OmegaConf line: spyre_hydra (editable, no torch, no vLLM)
# with hydra-core 1.4 (pre-release) + omegaconf 2.4, pytest and hypothesis. launch/test.sh
# runs the tests that need no engine in it.
# Usage: launch/setup_hydra14.sh [VENV_DIR]   (default: .venv-hydra14)
# Idempotent: a stamp holding the recipe and pyproject.toml hash skips the install.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv-hydra14}"
PY="${PYTHON:-python3}"
# Exact pins (a pre-release is installed only when named); hydra-core 1.4.0rc3 itself needs
# omegaconf>=2.4.1rc1. Newer 1.4 pre-releases: `pip index versions hydra-core --pre`.
REQS=(hydra-core==1.4.0rc3 "omegaconf>=2.4.1rc1,<2.5" "pytest>=8" "hypothesis>=6")
STAMP="$VENV/.spyre_hydra_hydra14_stamp"
HASH="$({ printf '%s\n' "${REQS[@]}"; cat "$REPO/pyproject.toml"; } | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
  echo "[setup_hydra14] up to date: $VENV"
  exit 0
fi
rm -f "$STAMP"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# pip repeats a harmless "Location ... is ignored" line for a secondary local index.
pip_() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "is neither a file" || true; }
  return "${PIPESTATUS[0]}"
}
pip_ install -q --upgrade pip
# One resolve: the project's own pins must accept this Hydra/OmegaConf, or pip fails here.
pip_ install -q "${REQS[@]}" -e "$REPO"
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import importlib.util
for dist in ("hydra-core", "omegaconf"):
    print(f"  {dist}=={md.version(dist)}")
heavy = [m for m in ("torch", "vllm", "transformers") if importlib.util.find_spec(m)]
if heavy:
    raise SystemExit(f"setup_hydra14: {heavy} must not be in this venv")
PY
echo "$HASH" > "$STAMP"
echo "[setup_hydra14] done: $VENV"
