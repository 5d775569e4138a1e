//===- LinalgBuilders.h - linalg/tensor IR builders shared by ampc -*- C++ -*-===//
//
// Small builders of tensor-level IR used by amp-differentiate, the amp and
// aten conversions: constants and fills, linalg.generic over given maps,
// transposes, reshapes, reversals, reductions and element conversions.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_UTILS_LINALGBUILDERS_H
#define AMPC_UTILS_LINALGBUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace ampc {

/// A scalar float constant of `type`.
mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type, double value);

/// A tensor of `type` filled with `value` (an attribute of its element type).
mlir::Value filledWith(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
                       mlir::TypedAttr value);

/// A tensor of `shape` x `element` (a float type) filled with `value`.
mlir::Value filledWithFloat(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                            mlir::Type element, double value);

/// A tensor of `type` filled with zeros.
mlir::Value zerosOf(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type);

/// The payload of a generic: maps its block arguments (inputs, then the
/// output's current value) to the value it yields.
using PayloadBuilder =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A one-result linalg.generic reading `inputs` through `maps` and writing
/// `init` through the last map.
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                         mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         PayloadBuilder body);

/// An elementwise linalg.generic over tensors of `type` (all inputs read
/// with identity maps); `body` sees the inputs only.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                             mlir::RankedTensorType type, PayloadBuilder body);

/// `lhs + rhs` for float tensors of one type.
mlir::Value addTensors(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs, mlir::Value rhs);

/// How an operand of shape `operandShape` is read by a loop nest over
/// `resultShape` under numpy broadcasting: aligned to the right, size-1
/// dimensions that the result does not share read at index 0.
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx, llvm::ArrayRef<int64_t> operandShape,
                             llvm::ArrayRef<int64_t> resultShape);

/// `value` with the dimensions in `dims` reversed (x[k] -> x[K-1-k]).
mlir::Value reverseDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                        llvm::ArrayRef<unsigned> dims);

/// One dimension of a tensor spread out (a transposed convolution's input,
/// a nearest upsampling's gradient): element i lands at
/// `offset + i * stride` of a tensor of `size` filled with a constant.
struct Spread {
  unsigned dim;
  int64_t size, offset, stride;
};

/// `value` spread out into a tensor of `fill` (zero when null).
mlir::Value spreadOut(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                      llvm::ArrayRef<Spread> spreads, mlir::TypedAttr fill = {});

/// `value` with its dimensions permuted (result dim i = input dim perm[i]).
mlir::Value transposeTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                            llvm::ArrayRef<int64_t> permutation);

/// `value` (static shape) reshaped to `shape` with the same element count:
/// one tensor.collapse_shape / tensor.expand_shape where the reshape groups
/// dimensions, a collapse to 1-D and an expand otherwise.
mlir::Value reshapeTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                          llvm::ArrayRef<int64_t> shape);

/// How a reduction folds its elements.
enum class ReductionKind { Sum, Max, Min };

/// `value` reduced over `dims` (which the result drops), in the element
/// type of `value`: a sum from 0, a max from -inf, a min from +inf (NaN
/// propagating, as torch's amax/amin).
mlir::Value reduceDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                       llvm::ArrayRef<int64_t> dims, ReductionKind kind);

/// A scalar converted to `to` with torch's rules: floats widen or round to
/// nearest even, integers convert to floats by value (i1 as 0/1), floats to
/// integers truncate toward zero, anything to i1 tests for non-zero.
mlir::Value convertScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                          mlir::Type to);

/// The static sizes of `type` as index attributes (for slices).
llvm::SmallVector<mlir::OpFoldResult> staticSizes(mlir::OpBuilder &b,
                                                   llvm::ArrayRef<int64_t> shape);

} // namespace ampc

#endif // AMPC_UTILS_LINALGBUILDERS_H
