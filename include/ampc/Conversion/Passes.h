//===- Passes.h - ampc conversion passes --------------------------*- C++ -*-===//

#ifndef AMPC_CONVERSION_PASSES_H
#define AMPC_CONVERSION_PASSES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Conversion/Passes.h.inc"

/// Patterns lowering amp ops to arith (and, for training ops, linalg/tensor).
void populateAMPToStandardConversionPatterns(mlir::RewritePatternSet &patterns);

/// amp.all_reduce to one amp.all_reduce_in_place per bucket on the buffer of
/// a fresh flat tensor, and amp.world_size to a call of the CPU runtime's
/// `ampc_mpi_step_world_size` (part of convert-amp-to-standard).
void populateAMPCollectivesToMPIPatterns(mlir::RewritePatternSet &patterns);

/// Declares the runtime function amp.world_size lowers to in `root` (which
/// must then be a module); an error when it cannot.
mlir::LogicalResult declareAMPCollectivesRuntime(mlir::Operation *root);

/// Patterns lowering every aten op (ampc.torch's import) to linalg, tensor,
/// arith and math, with amp.random_uniform for random ops and
/// amp.stop_gradient for detach.
void populateATenToLinalgConversionPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "ampc/Conversion/Passes.h.inc"

} // namespace ampc

#endif // AMPC_CONVERSION_PASSES_H
