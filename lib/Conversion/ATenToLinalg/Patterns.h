//===- Patterns.h - convert-aten-to-linalg, shared pieces ---------*- C++ -*-===//
//
// Each file of lib/Conversion/ATenToLinalg holds the patterns of one family
// of aten ops; ATenToLinalg.cpp holds the pass.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_CONVERSION_ATENTOLINALG_PATTERNS_H
#define AMPC_LIB_CONVERSION_ATENTOLINALG_PATTERNS_H

#include "ampc/Dialect/ATen/IR/ATen.h"
#include "ampc/Utils/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace ampc::aten_to_linalg {

void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
void populateLinearPatterns(mlir::RewritePatternSet &patterns);
void populateNormalizationPatterns(mlir::RewritePatternSet &patterns);
void populatePoolingPatterns(mlir::RewritePatternSet &patterns);
void populateDataMovementPatterns(mlir::RewritePatternSet &patterns);
void populateRandomPatterns(mlir::RewritePatternSet &patterns);

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return llvm::cast<mlir::RankedTensorType>(v.getType());
}

/// A linalg.generic over `resultType` that reads each operand with numpy
/// broadcasting (a splat constant is passed to the payload as a scalar
/// instead). `body` gets one scalar per operand, in order.
mlir::Value broadcastGeneric(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange operands,
                             mlir::RankedTensorType resultType,
                             llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                            mlir::ValueRange)>
                                 body);

/// `value` broadcast to `type`'s shape with its elements converted to
/// `type`'s element type (PyTorch's rules); `value` itself when it already
/// has `type`.
mlir::Value broadcastAndConvert(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                                mlir::RankedTensorType type);

/// `x * factor`, elementwise (nothing when factor is 1).
mlir::Value scaleBy(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, double factor);

/// `x` reduced over `dims` and divided by their element count (a mean), the
/// result keeping the reduced dimensions as size 1 when `keepdim`.
mlir::Value meanOver(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     llvm::ArrayRef<int64_t> dims, bool keepdim);

/// `x` reduced over `dims` with `kind`, keeping them as size 1 when `keepdim`.
mlir::Value reduceKeeping(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          llvm::ArrayRef<int64_t> dims, ReductionKind kind, bool keepdim);

/// An integer index as an `index` clamped to [0, size): PyTorch raises for
/// an index out of range; a compiled step cannot, and never reads outside
/// the tensor instead.
mlir::Value clampedIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value index, int64_t size);

/// An i64 tensor constant.
mlir::Value indexConstant(mlir::OpBuilder &b, mlir::Location loc,
                          llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> values);

/// An f32 tensor constant.
mlir::Value floatTensorConstant(mlir::OpBuilder &b, mlir::Location loc,
                                llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<float> values);

/// `x` padded with the constant `value`: `low`/`high` per dimension
/// (negative entries crop).
mlir::Value padWith(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high, double value);

} // namespace ampc::aten_to_linalg

#endif // AMPC_LIB_CONVERSION_ATENTOLINALG_PATTERNS_H
