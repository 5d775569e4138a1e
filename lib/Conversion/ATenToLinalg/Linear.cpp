//===- Linear.cpp - aten matrix products, convolutions, embeddings ----------===//
//
// Products stay named linalg ops (matmul, batch_matmul, conv_2d_*), which
// amp-autocast's allow list and the back ends' library GEMM paths match.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// beta * addend + alpha * product, with the addend broadcast.
Value addScaledProduct(OpBuilder &b, Location loc, Value addend, Value product, double beta,
                       double alpha) {
  RankedTensorType type = tensorType(product);
  return broadcastGeneric(b, loc, {addend, product}, type,
                          [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                            Type element = type.getElementType();
                            Value a = args[0], p = args[1];
                            if (beta != 1.0)
                              a = arith::MulFOp::create(nb, l, a, floatConstant(nb, l, element, beta));
                            if (alpha != 1.0)
                              p = arith::MulFOp::create(nb, l, p, floatConstant(nb, l, element, alpha));
                            if (beta == 0.0) // PyTorch ignores self (even NaN) when beta is 0
                              return p;
                            return arith::AddFOp::create(nb, l, a, p);
                          });
}

Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs, RankedTensorType type) {
  Value init = zerosOf(b, loc, type);
  if (type.getRank() == 3)
    return linalg::BatchMatmulOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{init}).getResult(0);
  return linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{init}).getResult(0);
}

template <typename OpTy>
struct ProductLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    ValueRange operands = adaptor.getOperands();
    constexpr bool scaled = std::is_same_v<OpTy, aten::AddmmOp> || std::is_same_v<OpTy, aten::BaddbmmOp>;
    if constexpr (scaled) {
      Value product = matmul(rewriter, loc, operands[1], operands[2], type);
      rewriter.replaceOp(op, addScaledProduct(rewriter, loc, operands[0], product,
                                              op.getBeta().convertToDouble(),
                                              op.getAlpha().convertToDouble()));
    } else {
      rewriter.replaceOp(op, matmul(rewriter, loc, operands[0], operands[1], type));
    }
    return success();
  }
};

/// A 2-D (N, C, H, W) convolution, not transposed, over an input already
/// padded: the named linalg op for ordinary, depthwise or grouped weights.
Value convolve2d(OpBuilder &b, Location loc, Value input, Value weight, RankedTensorType type,
                 ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation, int64_t groups) {
  Attribute strides = b.getI64VectorAttr(stride);
  Attribute dilations = b.getI64VectorAttr(dilation);
  ArrayRef<int64_t> x = tensorType(input).getShape(), w = tensorType(weight).getShape();
  Value init = zerosOf(b, loc, type);
  if (groups == 1)
    return linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{type}, ValueRange{input, weight},
                                            ValueRange{init}, strides, dilations)
        .getResult(0);
  if (groups == x[1] && groups == w[0]) {
    // Depthwise: the (C, 1, KH, KW) weight read as (C, KH, KW).
    Value w3 = reshapeTensor(b, loc, weight, {w[0], w[2], w[3]});
    return linalg::DepthwiseConv2DNchwChwOp::create(b, loc, TypeRange{type}, ValueRange{input, w3},
                                                    ValueRange{init}, strides, dilations)
        .getResult(0);
  }
  // Grouped: (N, G, C/G, H, W) x (G, F/G, C/G, KH, KW) -> (N, G, F/G, OH, OW).
  ArrayRef<int64_t> out = type.getShape();
  Value xg = reshapeTensor(b, loc, input, {x[0], groups, x[1] / groups, x[2], x[3]});
  Value wg = reshapeTensor(b, loc, weight, {groups, w[0] / groups, w[1], w[2], w[3]});
  auto groupedType =
      RankedTensorType::get({out[0], groups, out[1] / groups, out[2], out[3]}, type.getElementType());
  Value grouped = linalg::Conv2DNgchwGfchwOp::create(b, loc, TypeRange{groupedType},
                                                     ValueRange{xg, wg},
                                                     ValueRange{zerosOf(b, loc, groupedType)},
                                                     strides, dilations)
                      .getResult(0);
  return reshapeTensor(b, loc, grouped, out);
}

/// A transposed convolution's weight (C, F/G, KH, KW) as the weight of the
/// ordinary convolution that computes it: (F, C/G, KH, KW), kernel flipped.
Value transposedConvWeight(OpBuilder &b, Location loc, Value weight, int64_t groups) {
  ArrayRef<int64_t> w = tensorType(weight).getShape();
  int64_t c = w[0], fg = w[1];
  Value split = reshapeTensor(b, loc, weight, {groups, c / groups, fg, w[2], w[3]});
  Value swapped = transposeTensor(b, loc, split, {0, 2, 1, 3, 4});
  Value merged = reshapeTensor(b, loc, swapped, {groups * fg, c / groups, w[2], w[3]});
  return reverseDims(b, loc, merged, {2, 3});
}

struct ConvolutionLowering : OpConversionPattern<aten::ConvolutionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::ConvolutionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput(), weight = adaptor.getWeight();
    RankedTensorType type = op.getResult().getType();
    SmallVector<int64_t> stride(op.getStride()), padding(op.getPadding()),
        dilation(op.getDilation());
    SmallVector<int64_t> outputPadding(stride.size(), 0);
    if (op.getOutputPadding())
      outputPadding.assign(op.getOutputPadding()->begin(), op.getOutputPadding()->end());
    // 1-D convolutions run as 2-D ones over a height of 1.
    bool oneD = type.getRank() == 3;
    if (oneD) {
      auto lift = [&](Value v) {
        ArrayRef<int64_t> s = tensorType(v).getShape();
        return reshapeTensor(rewriter, loc, v, {s[0], s[1], 1, s[2]});
      };
      input = lift(input);
      weight = lift(weight);
      stride.insert(stride.begin(), 1);
      padding.insert(padding.begin(), 0);
      dilation.insert(dilation.begin(), 1);
      outputPadding.insert(outputPadding.begin(), 0);
    }
    ArrayRef<int64_t> out = type.getShape();
    SmallVector<int64_t> outShape(out);
    if (oneD)
      outShape = {out[0], out[1], 1, out[2]};
    auto convType = RankedTensorType::get(outShape, type.getElementType());
    ArrayRef<int64_t> w = tensorType(weight).getShape();
    Value result;
    if (op.getTransposed()) {
      // The input spread out by the stride and padded by each kernel's
      // reach less the padding, then an ordinary convolution with stride 1.
      ArrayRef<int64_t> x = tensorType(input).getShape();
      SmallVector<Spread> spreads;
      SmallVector<int64_t> low = {0, 0}, high = {0, 0};
      for (unsigned i = 0; i < 2; ++i) {
        int64_t reach = dilation[i] * (w[2 + i] - 1);
        spreads.push_back({2 + i, (x[2 + i] - 1) * stride[i] + 1, 0, stride[i]});
        low.push_back(reach - padding[i]);
        high.push_back(reach - padding[i] + outputPadding[i]);
      }
      Value spread = spreadOut(rewriter, loc, input, spreads);
      Value padded = padWith(rewriter, loc, spread, low, high, 0.0);
      Value flipped = transposedConvWeight(rewriter, loc, weight, op.getGroups());
      result = convolve2d(rewriter, loc, padded, flipped, convType, {1, 1}, dilation, op.getGroups());
    } else {
      Value padded = padWith(rewriter, loc, input, {0, 0, padding[0], padding[1]},
                             {0, 0, padding[0], padding[1]}, 0.0);
      result = convolve2d(rewriter, loc, padded, weight, convType, stride, dilation, op.getGroups());
    }
    if (oneD)
      result = reshapeTensor(rewriter, loc, result, out);
    if (Value bias = adaptor.getBias()) {
      // The bias per channel (dimension 1).
      MLIRContext *ctx = rewriter.getContext();
      unsigned rank = type.getRank();
      SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank),
                                     AffineMap::get(rank, 0, getAffineDimExpr(1, ctx)),
                                     rewriter.getMultiDimIdentityMap(rank)};
      SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
      Value init = tensor::EmptyOp::create(rewriter, loc, out, type.getElementType());
      result = buildGeneric(rewriter, loc, {result, bias}, init, maps, iterators,
                            [](OpBuilder &b, Location l, ValueRange a) -> Value {
                              return arith::AddFOp::create(b, l, a[0], a[1]);
                            });
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// out[..., d] = weight[indices[...], d]: a gather (tensor.extract in the
/// payload), whose adjoint amp-differentiate builds as a scatter-add.
struct EmbeddingLowering : OpConversionPattern<aten::EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::EmbeddingOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType type = op.getResult().getType();
    unsigned rank = type.getRank();
    Value weight = adaptor.getWeight(), indices = adaptor.getIndices();
    int64_t paddingIdx = op.getPaddingIdx();
    // The padding row is read through a stop-gradient copy, so it gets no
    // gradient while every other row does (PyTorch's padding_idx).
    Value frozen = paddingIdx >= 0 ? amp::StopGradientOp::create(rewriter, loc, weight).getResult()
                                   : Value();
    SmallVector<AffineExpr> leading;
    for (unsigned d = 0; d + 1 < rank; ++d)
      leading.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, leading, ctx),
                                   rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType());
    Value result = buildGeneric(
        rewriter, loc, indices, init, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value row = clampedIndex(b, l, args[0], tensorType(weight).getDimSize(0));
          Value col = linalg::IndexOp::create(b, l, rank - 1);
          Value v = tensor::ExtractOp::create(b, l, weight, ValueRange{row, col});
          if (!frozen)
            return v;
          Value padded = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, args[0],
              arith::ConstantOp::create(b, l, b.getIntegerAttr(args[0].getType(), paddingIdx)));
          Value still = tensor::ExtractOp::create(b, l, frozen, ValueRange{row, col});
          return arith::SelectOp::create(b, l, padded, still, v);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void aten_to_linalg::populateLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<ProductLowering<aten::MmOp>, ProductLowering<aten::AddmmOp>,
               ProductLowering<aten::BmmOp>, ProductLowering<aten::BaddbmmOp>, ConvolutionLowering,
               EmbeddingLowering>(patterns.getContext());
}
