#!/usr/bin/env bash
# The GPU checks in one go, for a machine with CuPy, PyTorch and a GPU:
#   1. the test suite's `gpu` tests (the same kernel tests, parametrised onto CuPy)
#   2. gradcheck + gradgradcheck of every public op on CuPy (`minigan gradcheck`)
#   3. CPU-vs-GPU agreement of a DCGAN-28 step (outputs and gradients, float32 tolerance)
#   4. compare_torch.py on the device at batch 64 and 256 (CuPy vs PyTorch CUDA)
# Usage: bash benchmarks/gpu_check.sh [--device cuda|cpu]   (cpu: a dry run of every step)
# Runs from a checkout without installing (PYTHONPATH=.); PYTHON picks the interpreter.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
[ "${1:-}" = "--device" ] && DEVICE="${2:-cuda}"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0
step() {  # step NAME COMMAND...: run, report, remember a failure
  local name="$1"; shift
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then echo "=== $name: OK ($((SECONDS - start)) s)"
  else echo "=== $name: FAILED ($((SECONDS - start)) s)"; status=1; fi
}
"$PY" -c "import minigan.cli as c; c.main(['info'])"
if [ "$DEVICE" = "cpu" ]; then
  # Dry run: the gpu-marked tests only collect and skip here; everything else runs on the CPU.
  step "gpu tests (collect only)" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests
  step "gradcheck" "$PY" -m minigan.cli gradcheck --device cpu
  step "agreement" "$PY" benchmarks/device_agreement.py --device cpu
  step "compare b64" "$PY" benchmarks/compare_torch.py --device cpu --batch-size 64 --quick
else
  step "gpu tests" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests
  step "gradcheck" "$PY" -m minigan.cli gradcheck --device "$DEVICE"
  step "agreement" "$PY" benchmarks/device_agreement.py --device "$DEVICE"
  step "compare b64" "$PY" benchmarks/compare_torch.py --device "$DEVICE" --batch-size 64
  step "compare b256" "$PY" benchmarks/compare_torch.py --device "$DEVICE" --batch-size 256
fi
echo "=== gpu_check: $([ $status = 0 ] && echo ALL OK || echo SOME FAILED)"
exit $status
