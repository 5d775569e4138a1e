//===- ATenToLinalg.cpp - the convert-aten-to-linalg pass -------------------===//
//
// The pass, and the builders its pattern families share. Every aten op is
// illegal; the verifiers guarantee each one lowers.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ampc {
#define GEN_PASS_DEF_CONVERTATENTOLINALG
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

Value aten_to_linalg::broadcastGeneric(
    OpBuilder &b, Location loc, ValueRange operands, RankedTensorType resultType,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> inputs, scalars(operands.size());
  SmallVector<AffineMap> maps;
  for (auto [i, operand] : llvm::enumerate(operands)) {
    DenseElementsAttr splat;
    if (matchPattern(operand, m_Constant(&splat)) && splat.isSplat()) {
      scalars[i] = arith::ConstantOp::create(b, loc, splat.getSplatValue<TypedAttr>());
      continue;
    }
    inputs.push_back(operand);
    maps.push_back(broadcastMap(ctx, tensorType(operand).getShape(), resultType.getShape()));
  }
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(), resultType.getElementType());
  return buildGeneric(b, loc, inputs, init, maps, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange args) {
                        SmallVector<Value> values;
                        unsigned next = 0;
                        for (Value scalar : scalars)
                          values.push_back(scalar ? scalar : args[next++]);
                        return body(nb, l, values);
                      });
}

Value aten_to_linalg::broadcastAndConvert(OpBuilder &b, Location loc, Value value,
                                          RankedTensorType type) {
  if (value.getType() == type)
    return value;
  return broadcastGeneric(b, loc, value, type, [&](OpBuilder &nb, Location l, ValueRange args) {
    return convertScalar(nb, l, args[0], type.getElementType());
  });
}

Value aten_to_linalg::scaleBy(OpBuilder &b, Location loc, Value x, double factor) {
  if (factor == 1.0)
    return x;
  RankedTensorType type = tensorType(x);
  Value c = floatConstant(b, loc, type.getElementType(), factor);
  return buildElementwise(b, loc, x, type, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::MulFOp::create(nb, l, a[0], c);
  });
}

Value aten_to_linalg::reduceKeeping(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims,
                                    ReductionKind kind, bool keepdim) {
  Value reduced = reduceDims(b, loc, x, dims, kind);
  if (!keepdim)
    return reduced;
  SmallVector<int64_t> shape(tensorType(x).getShape());
  for (int64_t d : dims)
    shape[d] = 1;
  return reshapeTensor(b, loc, reduced, shape);
}

Value aten_to_linalg::meanOver(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims,
                               bool keepdim) {
  Value sum = reduceKeeping(b, loc, x, dims, ReductionKind::Sum, keepdim);
  RankedTensorType type = tensorType(sum);
  int64_t count = 1;
  for (int64_t d : dims)
    count *= tensorType(x).getDimSize(d);
  // PyTorch divides the sum by the count (mean.dim is sum().div_()).
  Value n = floatConstant(b, loc, type.getElementType(), static_cast<double>(count));
  return buildElementwise(b, loc, sum, type, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::DivFOp::create(nb, l, a[0], n);
  });
}

Value aten_to_linalg::clampedIndex(OpBuilder &b, Location loc, Value index, int64_t size) {
  Value asIndex = arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value last = arith::ConstantIndexOp::create(b, loc, size - 1);
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, asIndex, zero), last);
}

Value aten_to_linalg::indexConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                                    ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value aten_to_linalg::floatTensorConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                                          ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value aten_to_linalg::padWith(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
                              ArrayRef<int64_t> high, double value) {
  RankedTensorType type = tensorType(x);
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> padLow, padHigh;
  bool pads = false, crops = false;
  for (unsigned d = 0; d < shape.size(); ++d) {
    padLow.push_back(b.getIndexAttr(std::max<int64_t>(low[d], 0)));
    padHigh.push_back(b.getIndexAttr(std::max<int64_t>(high[d], 0)));
    shape[d] += std::max<int64_t>(low[d], 0) + std::max<int64_t>(high[d], 0);
    pads |= low[d] > 0 || high[d] > 0;
    crops |= low[d] < 0 || high[d] < 0;
  }
  Value padded = x;
  if (pads) {
    Type element = type.getElementType();
    TypedAttr fill = isa<FloatType>(element)
                         ? TypedAttr(b.getFloatAttr(element, value))
                         : TypedAttr(b.getIntegerAttr(element, static_cast<int64_t>(value)));
    Value scalar = arith::ConstantOp::create(b, loc, fill);
    padded = tensor::PadOp::create(b, loc, RankedTensorType::get(shape, element), x, padLow,
                                   padHigh, scalar);
  }
  if (!crops)
    return padded;
  SmallVector<OpFoldResult> offsets, sizes, strides(shape.size(), b.getIndexAttr(1));
  SmallVector<int64_t> cropped;
  for (unsigned d = 0; d < shape.size(); ++d) {
    int64_t from = low[d] < 0 ? -low[d] : 0;
    int64_t size = shape[d] - from - (high[d] < 0 ? -high[d] : 0);
    offsets.push_back(b.getIndexAttr(from));
    sizes.push_back(b.getIndexAttr(size));
    cropped.push_back(size);
  }
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(cropped, type.getElementType()), padded, offsets, sizes,
      strides);
}

void ampc::populateATenToLinalgConversionPatterns(RewritePatternSet &patterns) {
  aten_to_linalg::populateElementwisePatterns(patterns);
  aten_to_linalg::populateLinearPatterns(patterns);
  aten_to_linalg::populateNormalizationPatterns(patterns);
  aten_to_linalg::populatePoolingPatterns(patterns);
  aten_to_linalg::populateDataMovementPatterns(patterns);
  aten_to_linalg::populateRandomPatterns(patterns);
}

namespace {
struct ConvertATenToLinalgPass
    : public ampc::impl::ConvertATenToLinalgBase<ConvertATenToLinalgPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<aten::ATenDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateATenToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
