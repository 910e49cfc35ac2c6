#!/usr/bin/env bash
# A venv for the Ray launcher test: spyre_hydra (core, no vLLM) with the [ray,test] extras.
# Usage: launch/setup_ray.sh [VENV_DIR]; idempotent (a stamp holds the pyproject hash).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO/.venv-ray}"
STAMP="$VENV/.spyre_hydra_ray_stamp"
HASH="$(sha256sum "$REPO/pyproject.toml" | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
  echo "[setup_ray] up to date: $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
# pip repeats a harmless "Location ... is ignored" line for a secondary local index.
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v "is neither a file" || true; }
"$VENV/bin/python" -m pip install -q -e "$REPO[ray,test]" 2>&1 | { grep -v "is neither a file" || true; }
echo "$HASH" > "$STAMP"
echo "[setup_ray] done: $VENV"
