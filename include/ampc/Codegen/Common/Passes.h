//===- Passes.h - lowering passes of both ampc back ends ----------*- C++ -*-===//

#ifndef AMPC_CODEGEN_COMMON_PASSES_H
#define AMPC_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/Common/Passes.h.inc"

/// Rewrites memref.copy ops with a non-contiguous side as linalg.copy
/// (amp-strided-copies-to-loops); with `keepContiguous` false, every side
/// without the identity layout counts as non-contiguous.
void populateStridedCopiesToLoopsPatterns(mlir::RewritePatternSet &patterns,
                                          bool keepContiguous = true);

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/Common/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CODEGEN_COMMON_PASSES_H
