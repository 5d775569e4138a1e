//===- Passes.h - ampc mixed-precision rewrite passes -------------*- C++ -*-===//
//
// amp-autocast, amp-cast-cleanup and amp-check-precision: the precision
// policy applied to a graph, the casts it leaves tidied, and its guarantees
// checked.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_PRECISION_PASSES_H
#define AMPC_PRECISION_PASSES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Precision/Passes.h.inc"

/// Adds the amp.cast canonicalizations and folds that amp-cast-cleanup runs.
void populateCastCleanupPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "ampc/Precision/Passes.h.inc"

} // namespace ampc

#endif // AMPC_PRECISION_PASSES_H
