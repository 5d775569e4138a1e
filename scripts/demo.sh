#!/usr/bin/env bash
# The main job, end to end: takes the FP32 MLP training step in examples/,
# compiles it to mixed precision (amp-pipeline: autocast with the default
# policy, FP32 master weights, loss scaling, cleanup), prints the IR and the
# per-op decision report, then runs the step on the CPU in FP32, f16 and bf16
# and compares each with a numpy FP32 reference, and finally trains the MLP on
# the scikit-learn digits data from Python with steps that amp-differentiate
# builds from the MLP's forward function (ampc --train) and ampc compiles in
# fp32, fp16 + dynamic loss scaling and bf16. Installs missing Debian packages
# and builds first.
#
#   scripts/demo.sh [f16|bf16]
set -euo pipefail
source "$(dirname "$0")/common.sh"
precision=${1:-f16}
case "$precision" in f16|bf16) ;; *) echo "usage: $0 [f16|bf16]" >&2; exit 2 ;; esac
ampc_build amp-opt ampc

input="$AMPC_ROOT/examples/mlp_training_step.mlir"
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT

ampc_log "amp-opt --amp-pipeline=compute-type=$precision --amp-check-precision $(basename "$input")"
"$AMPC_BUILD_DIR/bin/amp-opt" "$input" \
  --amp-pipeline="compute-type=$precision report=$out_dir/report.json" \
  --amp-check-precision="compute-type=$precision" \
  -o "$out_dir/step.$precision.mlir"
cat "$out_dir/step.$precision.mlir"

ampc_log "decision report"
"$AMPC_PYTHON" - "$out_dir/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print("%-5s %-17s %-6s %-6s %s" % ("line", "op", "class", "prec", "rule"))
for op in report["ops"]:
    line = op["loc"].rsplit(":", 2)[-2] if op["loc"].count(":") >= 2 else "?"
    print("%-5s %-17s %-6s %-6s %s" % (line, op["op"], op["class"], op["precision"], op["rule"]))
s = report["summary"]
print("\n%d of %d ops run in %s (allow %d, deny %d, infer %d, clear %d, unknown %d); %d casts inserted"
      % (s["lowered"], s["ops"], report["compute_type"], s["allow"], s["deny"], s["infer"],
         s["clear"], s["unknown"], s["casts_inserted"]))
PY

ampc_log "running the step on the CPU (upstream lowering + mlir-runner) against a numpy FP32 reference"
"$AMPC_PYTHON" "$AMPC_ROOT/test/Integration/numerics/mlp_step_numerics.py" \
  "$AMPC_BUILD_DIR/bin/amp-opt" "$LLVM_PREFIX/bin/mlir-runner" "$LLVM_PREFIX/lib" "$input"

ampc_log "training the digits MLP from Python (forward -> amp-differentiate -> ampc.compile + ampc.load), three precisions"
"$AMPC_PYTHON" "$AMPC_ROOT/examples/digits/train_digits.py" --epochs 20
