//===- CPUPipeline.cpp - lowering mixed-precision steps to LLVM for CPUs ----===//

#include "ampc/Pipelines/Pipelines.h"

#include "ampc/Conversion/Passes.h"
#include "ampc/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

/// Appends one upstream pass given in textual form. The specs below are
/// constants, so a parse failure is a bug in this file, not bad input.
static void addUpstream(OpPassManager &pm, StringRef spec) {
  if (failed(parsePassPipeline(spec, pm)))
    llvm::report_fatal_error(llvm::Twine("ampc: bad built-in pass spec: ") + spec);
}

void ampc::buildCPULoweringPipeline(OpPassManager &pm) {
  // amp ops become arith/linalg/tensor.
  pm.addPass(createConvertAMPToStandard());
  // Elementwise arith on tensors (casts, selects) becomes linalg so that it
  // bufferizes and fuses like the rest.
  addUpstream(pm, "func.func(convert-elementwise-to-linalg)");
  // Fuse producer/consumer elementwise generics: fewer passes over memory.
  addUpstream(pm, "func.func(linalg-fuse-elementwise-ops)");
  // Matmuls: register-sized tiles, vectorized (f16/bf16 widened to f32).
  pm.addPass(createAMPTileAndVectorize());
  // Tensors to buffers across function boundaries, updating state in place
  // where the analysis proves it safe.
  addUpstream(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map}");
  // Results become caller-provided out-params: the C ABI then needs no
  // ownership transfer, and the runtime hands in its own arrays.
  addUpstream(pm, "buffer-results-to-out-params{modify-public-functions hoist-static-allocs}");
  // Equal subviews merge and the copies between them fold away (hoisted
  // accumulator tiles write back to where they were read).
  addUpstream(pm, "cse");
  addUpstream(pm, "canonicalize");
  // Free every temporary the step allocates.
  addUpstream(pm, "buffer-deallocation-pipeline");
  // Structured ops to loops; multi-dimensional vector transfers to loops of
  // 1-D ones that LLVM maps to vector loads and stores.
  addUpstream(pm, "func.func(convert-linalg-to-loops)");
  addUpstream(pm, "func.func(convert-vector-to-scf)");
  // bf16 conversions as integer ops: no compiler-rt routine needed.
  addUpstream(pm, "arith-expand{include-bf16=true}");
  addUpstream(pm, "expand-strided-metadata");
  addUpstream(pm, "lower-affine");
  addUpstream(pm, "convert-scf-to-cf");
  addUpstream(pm, "convert-vector-to-llvm");
  addUpstream(pm, "convert-ub-to-llvm");
  // exp/log/sqrt to LLVM intrinsics, the rest to libm calls.
  addUpstream(pm, "convert-math-to-llvm");
  addUpstream(pm, "convert-math-to-libm");
  addUpstream(pm, "convert-arith-to-llvm");
  addUpstream(pm, "finalize-memref-to-llvm");
  // A C entry point (_mlir_ciface_<name>) taking memref descriptors.
  addUpstream(pm, "func.func(llvm-request-c-wrappers)");
  addUpstream(pm, "convert-func-to-llvm");
  addUpstream(pm, "convert-cf-to-llvm");
  addUpstream(pm, "reconcile-unrealized-casts");
}
