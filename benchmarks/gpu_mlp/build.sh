#!/usr/bin/env bash
# Builds the GPU benchmark's ampc libraries into DIR (default
# build/gpu_mlp): for each workload, <workload>.{fp32,bf16,fp16}.so with
# their manifests, plus libampc_cuda_runtime.so next to them, so that DIR
# can be copied to a GPU machine and run with bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${AMPC_BUILD_DIR:-$ROOT/build}
OUT=${1:-$BUILD/gpu_mlp}
mkdir -p "$OUT"
[ -f "$BUILD/lib/libampc_cuda_runtime.so" ] || { echo "error: $BUILD has no CUDA runtime (CUDA toolkit missing at build time?)" >&2; exit 1; }
cp "$BUILD/lib/libampc_cuda_runtime.so" "$OUT/"
for workload in mlp-small mlp-large; do
  /usr/bin/python3 "$ROOT/benchmarks/workloads/mlp.py" "$workload" -o "$OUT/$workload.mlir"
  for precision in fp32 bf16 fp16; do
    "$BUILD/bin/ampc" "$OUT/$workload.mlir" --target=cuda --precision=$precision \
      -o "$OUT/$workload.$precision.so"
  done
done
ls -la "$OUT"
