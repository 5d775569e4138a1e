//===- Autodiff.h - reverse-mode adjoints of linalg and tensor ops -*- C++ -*-===//
//
// The rules amp-differentiate builds a backward from. Every adjoint is plain
// linalg/tensor IR on tensors, so the precision policy classifies the
// backward exactly as it classifies the forward.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_AUTODIFF_AUTODIFF_H
#define AMPC_AUTODIFF_AUTODIFF_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace ampc {

/// Emits, at `builder`'s insertion point, the reverse-mode backward of the
/// ops that precede that point in its block and lie on a path from one of
/// `wrt` to `target`, starting from `targetAdjoint` (d target / d target).
/// Returns d target / d wrt[i] for each i: a tensor of wrt[i]'s type, or a
/// null Value where wrt[i] does not reach `target`. Adjoints of values with
/// several users are summed; no forward value is recomputed.
///
/// Rules: every linalg structured op whose payload uses arith/math ops with
/// known derivatives (elementwise, broadcasts, transposes, sum/max/min
/// reductions, contractions, and convolutions/pooling through windowed
/// indexing maps), plus tensor.expand_shape, collapse_shape, extract_slice,
/// insert_slice, pad, concat and cast. An op on the path without a rule is a
/// located error, and the function fails.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
emitReverseMode(mlir::OpBuilder &builder, mlir::Value target,
                mlir::Value targetAdjoint, mlir::ArrayRef<mlir::Value> wrt);

} // namespace ampc

#endif // AMPC_AUTODIFF_AUTODIFF_H
