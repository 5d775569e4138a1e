//===- Passes.h - ampc CPU back end -------------------------------*- C++ -*-===//

#ifndef AMPC_CODEGEN_CPU_PASSES_H
#define AMPC_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/CPU/Passes.h.inc"

/// Unit attribute marking the kernel functions amp-cpu-outline-kernels makes.
constexpr llvm::StringLiteral kKernelAttrName = "ampc.kernel";
/// Module attribute: what amp-cpu-profile-points instrumented, by id (an
/// array of dictionaries: function, callee, what, source, module, backward).
constexpr llvm::StringLiteral kProfilePointsAttrName = "ampc.profile_points";

struct CPULoweringOptions {
  /// Matmul-like ops and convolutions through the oneDNN runtime (runtime/cpu)
  /// — the default — or as generated register tiles (`--cpu-gemm=native`, the
  /// reference path, which needs no runtime).
  bool libraryGemm = true;
  /// Elementwise and reduction loops split over all cores with OpenMP
  /// (LLVM's libomp, the thread pool oneDNN shares).
  bool parallelLoops = true;
  /// The target converts f32 <-> bf16 in hardware (AVX512-BF16): conversions
  /// are left to LLVM (vcvtneps2bf16) instead of being expanded to integer
  /// operations.
  bool nativeBF16Conversions = false;
  /// The target has f16 matmul kernels (AVX512-FP16): f16 contractions stay
  /// f16 for oneDNN. Without them (amp-cpu-widen-f16) they read f32 copies.
  bool nativeF16Gemm = false;
};

/// amp-lower-to-cpu: amp + upstream dialects on tensors to the LLVM dialect,
/// with a C entry point per public function whose results are out-params.
void buildCPULoweringPipeline(mlir::OpPassManager &pm, const CPULoweringOptions &options = {});

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/CPU/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CODEGEN_CPU_PASSES_H
