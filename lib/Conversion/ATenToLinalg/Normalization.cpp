//===- Normalization.cpp - aten norms, softmax and reductions ---------------===//
//
// Statistics as PyTorch's CPU kernels compute them: sums divided by the
// count, the biased variance from centered squares, 1 / sqrt(var + eps);
// softmax shifted by the row maximum.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// Statistics of `x` over some dimensions: the mean and biased variance
/// (those dimensions dropped), `x - mean`, and how a loop over `x` reads a
/// statistic.
struct Moments {
  Value mean, var, centered, squares;
  AffineMap statMap;
};

/// The projection of a loop over `rank` dimensions to those not in `dims`.
AffineMap keptDimsMap(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> dims) {
  SmallVector<AffineExpr> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(dims, d))
      kept.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, kept, ctx);
}

/// A generic over `type` reading `inputs` through `maps` (the output's map,
/// the identity, is added).
Value mapped(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<AffineMap> maps,
             RankedTensorType type, PayloadBuilder body) {
  SmallVector<AffineMap> all(maps);
  all.push_back(b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return buildGeneric(b, loc, inputs, init, all, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange args) {
                        return body(nb, l, args.drop_back());
                      });
}

Moments momentsOver(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> dims) {
  RankedTensorType type = tensorType(x);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  AffineMap statMap = keptDimsMap(b.getContext(), type.getRank(), dims);
  Value mean = meanOver(b, loc, x, dims, /*keepdim=*/false);
  Value centered = mapped(b, loc, {x, mean}, {id, statMap}, type,
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::SubFOp::create(nb, l, a[0], a[1]);
                          });
  Value squares = buildElementwise(b, loc, centered, type,
                                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                     return arith::MulFOp::create(nb, l, a[0], a[0]);
                                   });
  Value var = meanOver(b, loc, squares, dims, /*keepdim=*/false);
  return {mean, var, centered, squares, statMap};
}

/// 1 / sqrt(var + eps), elementwise.
Value invStd(OpBuilder &b, Location loc, Value var, double eps) {
  RankedTensorType type = tensorType(var);
  Value e = floatConstant(b, loc, type.getElementType(), eps);
  return buildElementwise(b, loc, var, type, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return math::RsqrtOp::create(nb, l, arith::AddFOp::create(nb, l, a[0], e));
  });
}

/// (x - mean) * invstd [* weight + bias]: mean and invstd read through
/// `statMap`, weight and bias through `affineMap`.
Value normalize(OpBuilder &b, Location loc, Value x, Value mean, Value invstd, AffineMap statMap,
                Value weight, Value bias, AffineMap affineMap) {
  RankedTensorType type = tensorType(x);
  SmallVector<Value> inputs = {x, mean, invstd};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(type.getRank()), statMap, statMap};
  for (Value v : {weight, bias})
    if (v) {
      inputs.push_back(v);
      maps.push_back(affineMap);
    }
  return mapped(b, loc, inputs, maps, type, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value y = arith::MulFOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), a[2]);
    unsigned next = 3;
    if (weight)
      y = arith::MulFOp::create(nb, l, y, a[next++]);
    if (bias)
      y = arith::AddFOp::create(nb, l, y, a[next++]);
    return y;
  });
}

/// How a loop over an (N, C, ...) tensor reads a per-channel vector.
AffineMap channelMap(OpBuilder &b, int64_t rank) {
  return AffineMap::get(rank, 0, getAffineDimExpr(1, b.getContext()));
}

struct BatchNormLowering : OpConversionPattern<aten::NativeBatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::NativeBatchNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType type = tensorType(x);
    int64_t rank = type.getRank(), channels = type.getDimSize(1);
    Type element = type.getElementType();
    Value weight = adaptor.getWeight(), bias = adaptor.getBias();
    AffineMap perChannel = channelMap(rewriter, rank);
    double eps = op.getEps().convertToDouble();
    if (!op.getTraining()) {
      Value invstd = invStd(rewriter, loc, adaptor.getRunningVar(), eps);
      Value y = normalize(rewriter, loc, x, adaptor.getRunningMean(), invstd, perChannel, weight,
                          bias, perChannel);
      auto empty = [&]() -> Value {
        return tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{0}, element);
      };
      rewriter.replaceOp(op, ValueRange{y, empty(), empty(), adaptor.getRunningMean(),
                                        adaptor.getRunningVar()});
      return success();
    }
    SmallVector<int64_t> dims = {0};
    for (int64_t d = 2; d < rank; ++d)
      dims.push_back(d);
    Moments m = momentsOver(rewriter, loc, x, dims);
    Value invstd = invStd(rewriter, loc, m.var, eps);
    Value y = normalize(rewriter, loc, x, m.mean, invstd, m.statMap, weight, bias, perChannel);
    SmallVector<Value> results = {y, m.mean, invstd};
    if (adaptor.getRunningMean()) {
      // running = (1 - momentum) running + momentum batch, the variance
      // unbiased by count / (count - 1), as PyTorch's update.
      int64_t count = type.getNumElements() / channels;
      double momentum = op.getMomentum().convertToDouble();
      auto update = [&](Value running, Value batch, double unbias) {
        return buildElementwise(
            rewriter, loc, {running, batch}, tensorType(running),
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              Value value = a[1];
              if (unbias != 1.0)
                value = arith::MulFOp::create(b, l, value, floatConstant(b, l, element, unbias));
              Value kept = arith::MulFOp::create(b, l, a[0], floatConstant(b, l, element, 1.0 - momentum));
              Value taken = arith::MulFOp::create(b, l, value, floatConstant(b, l, element, momentum));
              return arith::AddFOp::create(b, l, kept, taken);
            });
      };
      double unbias = count > 1 ? static_cast<double>(count) / (count - 1.0) : 1.0;
      results.push_back(update(adaptor.getRunningMean(), m.mean, 1.0));
      results.push_back(update(adaptor.getRunningVar(), m.var, unbias));
    } else {
      for (int i = 0; i < 2; ++i)
        results.push_back(tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{0}, element));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LayerNormLowering : OpConversionPattern<aten::NativeLayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::NativeLayerNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    int64_t rank = tensorType(x).getRank();
    int64_t k = op.getNormalizedShape().size();
    SmallVector<int64_t> dims;
    for (int64_t d = rank - k; d < rank; ++d)
      dims.push_back(d);
    Moments m = momentsOver(rewriter, loc, x, dims);
    Value rstd = invStd(rewriter, loc, m.var, op.getEps().convertToDouble());
    AffineMap trailing = keptDimsMap(rewriter.getContext(), rank, llvm::to_vector(llvm::seq<int64_t>(0, rank - k)));
    Value y = normalize(rewriter, loc, x, m.mean, rstd, m.statMap, adaptor.getWeight(),
                        adaptor.getBias(), trailing);
    SmallVector<int64_t> statShape(tensorType(op.getMean()).getShape());
    rewriter.replaceOp(op, ValueRange{y, reshapeTensor(rewriter, loc, m.mean, statShape),
                                      reshapeTensor(rewriter, loc, rstd, statShape)});
    return success();
  }
};

struct GroupNormLowering : OpConversionPattern<aten::NativeGroupNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::NativeGroupNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType type = tensorType(x);
    int64_t n = type.getDimSize(0), groups = op.getGroup();
    // Statistics over each (sample, group): x viewed as (N, G, C/G * HxW).
    Value grouped = reshapeTensor(rewriter, loc, x, {n, groups, type.getNumElements() / (n * groups)});
    Moments m = momentsOver(rewriter, loc, grouped, {2});
    Value rstd = invStd(rewriter, loc, m.var, op.getEps().convertToDouble());
    Value normalized =
        normalize(rewriter, loc, grouped, m.mean, rstd, m.statMap, Value(), Value(), AffineMap());
    Value y = reshapeTensor(rewriter, loc, normalized, type.getShape());
    Value weight = adaptor.getWeight(), bias = adaptor.getBias();
    if (weight || bias) {
      SmallVector<Value> inputs = {y};
      AffineMap perChannel = channelMap(rewriter, type.getRank());
      SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(type.getRank())};
      for (Value v : {weight, bias})
        if (v) {
          inputs.push_back(v);
          maps.push_back(perChannel);
        }
      y = mapped(rewriter, loc, inputs, maps, type,
                 [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                   Value r = a[0];
                   unsigned next = 1;
                   if (weight)
                     r = arith::MulFOp::create(b, l, r, a[next++]);
                   if (bias)
                     r = arith::AddFOp::create(b, l, r, a[next++]);
                   return r;
                 });
    }
    rewriter.replaceOp(op, ValueRange{y, reshapeTensor(rewriter, loc, m.mean, {n, groups}),
                                      reshapeTensor(rewriter, loc, rstd, {n, groups})});
    return success();
  }
};

template <typename OpTy, bool isLog>
struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getSelf();
    RankedTensorType type = tensorType(x);
    int64_t dim = op.getDim();
    AffineMap id = rewriter.getMultiDimIdentityMap(type.getRank());
    AffineMap row = keptDimsMap(rewriter.getContext(), type.getRank(), {dim});
    Value top = reduceDims(rewriter, loc, x, {dim}, ReductionKind::Max);
    Value shifted = mapped(rewriter, loc, {x, top}, {id, row}, type,
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::SubFOp::create(b, l, a[0], a[1]);
                           });
    Value exps = buildElementwise(rewriter, loc, shifted, type,
                                  [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                    return math::ExpOp::create(b, l, a[0]);
                                  });
    Value total = reduceDims(rewriter, loc, exps, {dim}, ReductionKind::Sum);
    Value result;
    if (isLog)
      result = mapped(rewriter, loc, {shifted, total}, {id, row}, type,
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::SubFOp::create(b, l, a[0], math::LogOp::create(b, l, a[1]));
                      });
    else
      result = mapped(rewriter, loc, {exps, total}, {id, row}, type,
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::DivFOp::create(b, l, a[0], a[1]);
                      });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The dimensions a reduction folds: `dim`, or every one when empty.
SmallVector<int64_t> reducedDims(ArrayRef<int64_t> dim, int64_t rank) {
  if (!dim.empty())
    return SmallVector<int64_t>(dim);
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

template <typename OpTy>
struct ReductionLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getSelf();
    SmallVector<int64_t> dims = reducedDims(op.getDim(), tensorType(x).getRank());
    bool keep = op.getKeepdim();
    Value result;
    if constexpr (std::is_same_v<OpTy, aten::SumOp>) {
      // Bools and narrower integers sum in the result's type (mask.sum() is int64).
      RankedTensorType type = tensorType(x);
      x = broadcastAndConvert(rewriter, loc, x,
                              type.clone(op.getResult().getType().getElementType()));
      result = reduceKeeping(rewriter, loc, x, dims, ReductionKind::Sum, keep);
    }
    else if constexpr (std::is_same_v<OpTy, aten::AmaxOp>)
      result = reduceKeeping(rewriter, loc, x, dims, ReductionKind::Max, keep);
    else if constexpr (std::is_same_v<OpTy, aten::AminOp>)
      result = reduceKeeping(rewriter, loc, x, dims, ReductionKind::Min, keep);
    else if constexpr (std::is_same_v<OpTy, aten::MeanOp>)
      result = meanOver(rewriter, loc, x, dims, keep);
    else {
      // var: centered squares summed, divided by count - correction.
      Moments m = momentsOver(rewriter, loc, x, dims);
      RankedTensorType type = tensorType(x);
      Value sum = reduceKeeping(rewriter, loc, m.squares, dims, ReductionKind::Sum, keep);
      int64_t count = 1;
      for (int64_t d : dims)
        count *= type.getDimSize(d);
      double divisor = std::max(0.0, count - op.getCorrection().convertToDouble());
      Value n = floatConstant(rewriter, loc, type.getElementType(), divisor);
      result = buildElementwise(rewriter, loc, sum, tensorType(sum),
                                [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                  return arith::DivFOp::create(b, l, a[0], n);
                                });
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void aten_to_linalg::populateNormalizationPatterns(RewritePatternSet &patterns) {
  patterns.add<BatchNormLowering, LayerNormLowering, GroupNormLowering,
               SoftmaxLowering<aten::SoftmaxOp, false>, SoftmaxLowering<aten::LogSoftmaxOp, true>,
               ReductionLowering<aten::SumOp>, ReductionLowering<aten::MeanOp>,
               ReductionLowering<aten::AmaxOp>, ReductionLowering<aten::AminOp>,
               ReductionLowering<aten::VarOp>>(patterns.getContext());
}
