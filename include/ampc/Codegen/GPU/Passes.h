//===- Passes.h - ampc CUDA back end ------------------------------*- C++ -*-===//

#ifndef AMPC_CODEGEN_GPU_PASSES_H
#define AMPC_CODEGEN_GPU_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/GPU/Passes.h.inc"

struct CUDALoweringOptions {
  /// GPU architecture and PTX ISA features of the kernels.
  std::string chip = "sm_90";
  std::string features = "+ptx80";
  /// Matmul-like ops through the runtime's cuBLASLt GEMM (else naive kernels).
  bool libraryGemm = true;
  /// Kernel code embedded in the host module: "isa" (PTX, JIT-compiled by the
  /// driver at load; needs no toolkit), "bin" (cubin) or "fatbin" (both need
  /// ptxas from the CUDA toolkit).
  std::string binaryFormat = "isa";
  /// The CUDA toolkit holding ptxas/fatbinary ("" : MLIR's default search).
  std::string toolkitPath;
};

/// amp-lower-to-cuda: host code calling the ampc CUDA runtime (device
/// buffers, cuBLASLt GEMMs, kernel launches on one stream) with the kernels
/// of every other structured op lowered through NVVM and embedded.
void buildCUDALoweringPipeline(mlir::OpPassManager &pm, const CUDALoweringOptions &options);

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/GPU/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CODEGEN_GPU_PASSES_H
