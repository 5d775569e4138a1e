#!/usr/bin/env bash
# Builds what python/tests/test_cuda.py needs on a GPU machine that has no
# MLIR (the lent device machine): the example step compiled for cpu and cuda
# in fp32/bf16/fp16, steps amp-differentiate builds from forward functions
# (the example MLP's, a small convolutional net's), and the CUDA runtime, into
# DIR. There run
#   AMPC_GPU_ARTIFACTS=DIR AMPC_CUDA_RUNTIME=DIR/libampc_cuda_runtime.so \
#     python3 -m pytest python/tests/test_cuda.py
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${AMPC_BUILD_DIR:-$ROOT/build}
OUT=${1:?usage: build-gpu-test-artifacts.sh DIR}
mkdir -p "$OUT"
cp "$BUILD/lib/libampc_cuda_runtime.so" "$OUT/"
for target in cpu cuda; do
  for precision in fp32 bf16 fp16; do
    "$BUILD/bin/ampc" "$ROOT/examples/mlp_training_step.mlir" --target=$target \
      --precision=$precision -o "$OUT/mlp_training_step.$target.$precision.so"
  done
done
# Steps built by amp-differentiate (test_cuda.py: TRAIN_OPTIONS).
for target in cpu cuda; do
  for precision in fp32 bf16; do
    "$BUILD/bin/ampc" "$ROOT/examples/mlp_forward.mlir" --target=$target --precision=$precision \
      --train="loss=cross-entropy params=1,2,3,4 lr=0.1" -o "$OUT/mlp_forward.$target.$precision.so"
    "$BUILD/bin/ampc" "$ROOT/python/tests/inputs/conv_forward.mlir" --target=$target --precision=$precision \
      --train="loss=mse params=1 lr=0.05" -o "$OUT/conv_forward.$target.$precision.so"
  done
done
