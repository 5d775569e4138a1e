//===- Passes.h - ampc transformation passes ----------------------*- C++ -*-===//

#ifndef AMPC_TRANSFORMS_PASSES_H
#define AMPC_TRANSFORMS_PASSES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

enum class LossScalingMode { None, Static, Dynamic };
enum class DifferentiateLoss { None, MSE, CrossEntropy };
enum class DifferentiateLabels { OneHot, Indices };
enum class DifferentiateOptimizer { SGD, Adam, AdamW };

#define GEN_PASS_DECL
#include "ampc/Precision/Passes.h.inc"

/// Rewrites memref.copy ops with a non-contiguous side as linalg.copy
/// (amp-strided-copies-to-loops); with `keepContiguous` false, every side
/// without the identity layout counts as non-contiguous.
void populateStridedCopiesToLoopsPatterns(mlir::RewritePatternSet &patterns,
                                          bool keepContiguous = true);

/// Adds the amp.cast canonicalizations and folds that amp-cast-cleanup runs.
void populateCastCleanupPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "ampc/Precision/Passes.h.inc"

} // namespace ampc

#endif // AMPC_TRANSFORMS_PASSES_H
