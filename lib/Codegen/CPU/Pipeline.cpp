//===- Pipeline.cpp - lowering mixed-precision steps to LLVM for CPUs -------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/Common/PipelineSteps.h"

using namespace mlir;
using ampc::detail::addUpstream;

void ampc::buildCPULoweringPipeline(OpPassManager &pm) {
  detail::addAMPToFusedLinalg(pm);
  // Matmuls: register-sized tiles, vectorized (f16/bf16 widened to f32).
  pm.addPass(createAMPTileAndVectorize());
  detail::addBufferizationToOutParams(pm);
  // Equal subviews merge and the copies between them fold away (hoisted
  // accumulator tiles write back to where they were read).
  addUpstream(pm, "cse");
  addUpstream(pm, "canonicalize");
  // Free every temporary the step allocates.
  addUpstream(pm, "buffer-deallocation-pipeline");
  // ... right after their last use, not at the end of the step.
  pm.addNestedPass<func::FuncOp>(createAMPFreeAfterLastUse());
  // Copies into strided views as loops, not calls to a runtime routine.
  pm.addNestedPass<func::FuncOp>(createAMPStridedCopiesToLoops());
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
  // A C entry point (_mlir_ciface_<name>) taking memref descriptors for each
  // exported function; declarations (libm, harness routines) keep C names.
  pm.addPass(createAMPRequestCWrappers());
  // exp/log/sqrt to LLVM intrinsics, the rest (erf, ...) to libm calls.
  addUpstream(pm, "convert-math-to-llvm");
  addUpstream(pm, "convert-math-to-libm");
  addUpstream(pm, "convert-arith-to-llvm");
  addUpstream(pm, "finalize-memref-to-llvm");
  addUpstream(pm, "convert-func-to-llvm");
  addUpstream(pm, "convert-cf-to-llvm");
  addUpstream(pm, "reconcile-unrealized-casts");
}
