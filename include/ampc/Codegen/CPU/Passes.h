//===- Passes.h - ampc CPU back end -------------------------------*- C++ -*-===//

#ifndef AMPC_CODEGEN_CPU_PASSES_H
#define AMPC_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/CPU/Passes.h.inc"

/// amp-lower-to-cpu: amp + upstream dialects on tensors to the LLVM dialect,
/// with a C entry point per public function whose results are out-params.
void buildCPULoweringPipeline(mlir::OpPassManager &pm);

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/CPU/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CODEGEN_CPU_PASSES_H
