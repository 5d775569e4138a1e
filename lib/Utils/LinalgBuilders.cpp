//===- LinalgBuilders.cpp - linalg/tensor IR builders shared by ampc --------===//

#include "ampc/Utils/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <limits>

using namespace mlir;

Value ampc::floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value ampc::filledWith(OpBuilder &b, Location loc, RankedTensorType type, TypedAttr value) {
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

Value ampc::filledWithFloat(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element,
                            double value) {
  return filledWith(b, loc, RankedTensorType::get(shape, element), b.getFloatAttr(element, value));
}

Value ampc::zerosOf(OpBuilder &b, Location loc, RankedTensorType type) {
  return filledWith(b, loc, type, b.getZeroAttr(type.getElementType()));
}

Value ampc::buildGeneric(OpBuilder &b, Location loc, ValueRange inputs, Value init,
                         ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
                         PayloadBuilder body) {
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
                                   maps, iterators,
                                   [&](OpBuilder &nb, Location l, ValueRange args) {
                                     linalg::YieldOp::create(nb, l, body(nb, l, args));
                                   })
      .getResult(0);
}

Value ampc::buildElementwise(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType type,
                             PayloadBuilder body) {
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return buildGeneric(b, loc, inputs, init, maps, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange args) {
                        return body(nb, l, args.drop_back());
                      });
}

Value ampc::addTensors(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return buildElementwise(b, loc, {lhs, rhs}, cast<RankedTensorType>(lhs.getType()),
                          [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                            return arith::AddFOp::create(nb, l, args[0], args[1]);
                          });
}

AffineMap ampc::broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                             ArrayRef<int64_t> resultShape) {
  unsigned rank = resultShape.size();
  unsigned offset = rank - operandShape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, size] : llvm::enumerate(operandShape)) {
    bool broadcast = size == 1 && resultShape[offset + i] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value ampc::reverseDims(OpBuilder &b, Location loc, Value value, ArrayRef<unsigned> dims) {
  auto type = cast<RankedTensorType>(value.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> reads;
  bool reverses = false;
  for (unsigned d = 0; d < type.getRank(); ++d) {
    AffineExpr dim = getAffineDimExpr(d, ctx);
    // Reversing a dimension of size 1 changes nothing.
    bool reversed = llvm::is_contained(dims, d) && type.getDimSize(d) > 1;
    reverses |= reversed;
    reads.push_back(reversed
                        ? getAffineConstantExpr(type.getDimSize(d) - 1, ctx) - dim
                        : dim);
  }
  if (!reverses)
    return value;
  SmallVector<AffineMap> maps = {AffineMap::get(type.getRank(), 0, reads, ctx),
                                 b.getMultiDimIdentityMap(type.getRank())};
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return buildGeneric(b, loc, value, init, maps, iterators,
                      [](OpBuilder &, Location, ValueRange args) { return args[0]; });
}

SmallVector<OpFoldResult> ampc::staticSizes(OpBuilder &b, ArrayRef<int64_t> shape) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t size : shape)
    sizes.push_back(b.getIndexAttr(size));
  return sizes;
}

Value ampc::spreadOut(OpBuilder &b, Location loc, Value value, ArrayRef<Spread> spreads,
                      TypedAttr fill) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = staticSizes(b, type.getShape());
  for (const Spread &spread : spreads) {
    shape[spread.dim] = spread.size;
    offsets[spread.dim] = b.getIndexAttr(spread.offset);
    strides[spread.dim] = b.getIndexAttr(spread.stride);
  }
  auto spreadType = RankedTensorType::get(shape, type.getElementType());
  Value base = fill ? filledWith(b, loc, spreadType, fill) : zerosOf(b, loc, spreadType);
  return tensor::InsertSliceOp::create(b, loc, value, base, offsets, sizes, strides);
}

Value ampc::transposeTensor(OpBuilder &b, Location loc, Value value,
                            ArrayRef<int64_t> permutation) {
  auto type = cast<RankedTensorType>(value.getType());
  if (llvm::equal(permutation, llvm::seq<int64_t>(0, type.getRank())))
    return value;
  SmallVector<int64_t> shape;
  for (int64_t d : permutation)
    shape.push_back(type.getDimSize(d));
  Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(b, loc, value, init, permutation).getResult()[0];
}

Value ampc::reshapeTensor(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  // A 0-d tensor and a tensor of ones reshape with no groups at all.
  if (type.getRank() == 0 || target.getRank() == 0) {
    if (type.getRank() == 0)
      return tensor::ExpandShapeOp::create(b, loc, target, value, ArrayRef<ReassociationIndices>{});
    return tensor::CollapseShapeOp::create(b, loc, target, value,
                                           ArrayRef<ReassociationIndices>{});
  }
  if (type.getRank() != target.getRank())
    if (auto groups = getReassociationIndicesForReshape(type, target)) {
      if (type.getRank() > target.getRank())
        return tensor::CollapseShapeOp::create(b, loc, target, value, *groups);
      return tensor::ExpandShapeOp::create(b, loc, target, value, *groups);
    }
  // Dimensions that regroup across each other: through 1-D.
  auto flatType = RankedTensorType::get({type.getNumElements()}, type.getElementType());
  Value flat = reshapeTensor(b, loc, value, flatType.getShape());
  return reshapeTensor(b, loc, flat, shape);
}

Value ampc::reduceDims(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> dims,
                       ReductionKind kind) {
  auto type = cast<RankedTensorType>(value.getType());
  MLIRContext *ctx = b.getContext();
  Type element = type.getElementType();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> kept;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    bool reduced = llvm::is_contained(dims, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced) {
      shape.push_back(type.getDimSize(d));
      kept.push_back(getAffineDimExpr(d, ctx));
    }
  }
  auto resultType = RankedTensorType::get(shape, element);
  TypedAttr start = b.getZeroAttr(element);
  if (kind != ReductionKind::Sum) {
    double inf = std::numeric_limits<double>::infinity();
    start = b.getFloatAttr(element, kind == ReductionKind::Max ? -inf : inf);
  }
  Value init = filledWith(b, loc, resultType, start);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(type.getRank()),
                                 AffineMap::get(type.getRank(), 0, kept, ctx)};
  return buildGeneric(b, loc, value, init, maps, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                        switch (kind) {
                        case ReductionKind::Sum:
                          if (isa<IntegerType>(element))
                            return arith::AddIOp::create(nb, l, args[0], args[1]);
                          return arith::AddFOp::create(nb, l, args[0], args[1]);
                        case ReductionKind::Max:
                          return arith::MaximumFOp::create(nb, l, args[0], args[1]);
                        case ReductionKind::Min:
                          return arith::MinimumFOp::create(nb, l, args[0], args[1]);
                        }
                        llvm_unreachable("reduction kind");
                      });
}

Value ampc::convertScalar(OpBuilder &b, Location loc, Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat) {
    if (fromFloat.getWidth() < toFloat.getWidth())
      return arith::ExtFOp::create(b, loc, to, value);
    return arith::TruncFOp::create(b, loc, to, value);
  }
  if (to.isInteger(1)) {
    if (fromFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value,
                                   floatConstant(b, loc, from, 0.0));
    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value, zero);
  }
  if (toFloat)
    return from.isInteger(1) ? arith::UIToFPOp::create(b, loc, to, value).getResult()
                             : arith::SIToFPOp::create(b, loc, to, value).getResult();
  if (fromFloat)
    return arith::FPToSIOp::create(b, loc, to, value);
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return from.isInteger(1) ? arith::ExtUIOp::create(b, loc, to, value).getResult()
                             : arith::ExtSIOp::create(b, loc, to, value).getResult();
  return arith::TruncIOp::create(b, loc, to, value);
}
