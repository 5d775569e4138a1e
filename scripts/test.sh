#!/usr/bin/env bash
# Builds ampc and runs every test: lit (FileCheck pass tests, corpus, CPU
# execution), GoogleTest, the Python package's pytest suite and a short run
# of the mutation fuzzer. Installs
# missing Debian packages first. Exits non-zero on any
# failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# PyTorch and torchvision: the reference of the training-surface and torch
# frontend tests (they skip, with a message, where they are missing).
AMPC_PACKAGES+=(python3-torch python3-torchvision)
ampc_build

status=0
ampc_log "lit tests"
"$LLVM_PREFIX/bin/lit" -sv "$AMPC_BUILD_DIR/test" || status=1

ampc_log "unit tests"
(cd "$AMPC_BUILD_DIR" && ctest --output-on-failure) || status=1

ampc_log "python tests"
AMPC="$AMPC_BUILD_DIR/bin/ampc" "$AMPC_PYTHON" -m pytest -q "$AMPC_ROOT/python/tests" || status=1

ampc_log "robustness: the mutation fuzzer, short fixed-seed run (docs/robustness.md)"
"$AMPC_PYTHON" "$AMPC_ROOT/scripts/fuzz.py" --build "$AMPC_BUILD_DIR" --executions 300 --seed 1 || status=1

if [ $status -ne 0 ]; then
  ampc_log "FAILED"
else
  ampc_log "all tests passed"
fi
exit $status
