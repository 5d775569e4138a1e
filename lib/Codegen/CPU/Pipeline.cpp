//===- Pipeline.cpp - lowering mixed-precision steps to LLVM for CPUs -------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/Common/PipelineSteps.h"

using namespace mlir;
using ampc::detail::addUpstream;

void ampc::buildCPULoweringPipeline(OpPassManager &pm, const CPULoweringOptions &options) {
  detail::addAMPToFusedLinalg(pm, /*keepContractions=*/true);
  // f16 contractions without f16 kernels: exact f32 copies, made once per
  // value and fused into their producers.
  if (options.libraryGemm && !options.nativeF16Gemm) {
    pm.addNestedPass<func::FuncOp>(createAMPCPUWidenF16());
    pm.addNestedPass<func::FuncOp>(createAMPFuseElementwise());
  }
  // FMA in the multiply-adds of contractions and reductions.
  pm.addNestedPass<func::FuncOp>(createAMPCPUContract());
  // Matmuls: register-sized tiles, vectorized (f16/bf16 widened to f32) —
  // unless oneDNN takes them below.
  AMPTileAndVectorizeOptions tiling;
  tiling.keepLibraryGemms = options.libraryGemm;
  pm.addPass(createAMPTileAndVectorize(tiling));
  // A fresh buffer per flipped kernel, padding and zero-initialized
  // result, where oneDNN calls can absorb them.
  pm.addNestedPass<func::FuncOp>(createAMPUntieEmptyTensors());
  detail::addBufferizationToOutParams(pm);
  // Equal subviews merge and the copies between them fold away (hoisted
  // accumulator tiles write back to where they were read).
  addUpstream(pm, "cse");
  addUpstream(pm, "canonicalize");
  // Free every temporary the step allocates.
  addUpstream(pm, "buffer-deallocation-pipeline");
  // GEMMs and convolutions to oneDNN, folding the fills, transposes,
  // paddings and epilogues around them.
  if (options.libraryGemm) {
    pm.addPass(createAMPCPULibraryGemm());
    addUpstream(pm, "canonicalize");
  }
  // ... right after their last use, not at the end of the step.
  pm.addNestedPass<func::FuncOp>(createAMPFreeAfterLastUse());
  // Copies into strided views as loops, not calls to a runtime routine.
  pm.addNestedPass<func::FuncOp>(createAMPStridedCopiesToLoops());
  // Each loop nest its own function, identical ones shared: what follows
  // lowers a shared kernel once and runs function by function in parallel,
  // and LLVM's time grows faster than the size of a function.
  pm.addPass(createAMPCPUOutlineKernels());
  addUpstream(pm, "duplicate-function-elimination");
  // Every kernel and oneDNN call timed when the step profiler is on.
  pm.addPass(createAMPCPUProfilePoints());
  // Structured ops to loops; multi-dimensional vector transfers to loops of
  // 1-D ones that LLVM maps to vector loads and stores. The outermost
  // parallel loops with enough work are split over the cores (OpenMP).
  if (options.parallelLoops) {
    // Short innermost dimensions (3x3 weights, 1x1 maps) merge first, so
    // that LLVM vectorizes along contiguous memory, not with gathers.
    pm.addNestedPass<func::FuncOp>(createAMPCPUCollapseInnerDims());
    addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
    pm.addNestedPass<func::FuncOp>(createAMPCPUParallelLoops());
    addUpstream(pm, "convert-scf-to-openmp");
    // Inlines the alloca scopes around loop bodies that allocate nothing
    // (their region must stay one block, which scf-to-cf would break).
    addUpstream(pm, "canonicalize");
  } else {
    addUpstream(pm, "func.func(convert-linalg-to-loops)");
  }
  addUpstream(pm, "func.func(convert-vector-to-scf)");
  // The vector lowerings' adds of contracting multiplies fuse too.
  pm.addNestedPass<func::FuncOp>(createAMPCPUContract());
  // bf16 conversions: LLVM's where the target has instructions for them,
  // else integer ops (no compiler-rt routine needed).
  if (!options.nativeBF16Conversions)
    addUpstream(pm, "arith-expand{include-bf16=true}");
  addUpstream(pm, "expand-strided-metadata");
  addUpstream(pm, "lower-affine");
  addUpstream(pm, "convert-scf-to-cf");
  // vector.contract (the native matmul tiles) as outer products of FMAs.
  addUpstream(pm, "convert-vector-to-llvm{vector-contract-lowering=outerproduct}");
  addUpstream(pm, "convert-ub-to-llvm");
  // A C entry point (_mlir_ciface_<name>) taking memref descriptors for each
  // exported function; declarations (libm, harness routines) keep C names.
  pm.addPass(createAMPRequestCWrappers());
  // exp/log/sqrt to LLVM intrinsics, the rest (erf, ...) to libm calls.
  addUpstream(pm, "convert-math-to-llvm");
  addUpstream(pm, "convert-math-to-libm");
  addUpstream(pm, "convert-arith-to-llvm");
  // A data-parallel step's buckets become MPI_Allreduce calls, once no pass
  // that reasons about buffers (deallocation, freeing after the last use)
  // runs anymore: the upstream MPI ops declare no memory effects.
  pm.addPass(createAMPCPUCollectivesToMPI());
  // Allocations through the buffer cache every CPU library links
  // (runtime/cpu/ampc_cpu_alloc.c): a step's temporaries are not faulted in
  // again every step.
  addUpstream(pm, "finalize-memref-to-llvm{use-generic-functions=true}");
  addUpstream(pm, "convert-func-to-llvm");
  addUpstream(pm, "convert-cf-to-llvm");
  if (options.parallelLoops)
    addUpstream(pm, "convert-openmp-to-llvm");
  addUpstream(pm, "reconcile-unrealized-casts");
}
