//===- Pooling.cpp - aten pooling and resizing ------------------------------===//
//
// Pooling windows run on linalg.pooling_nchw_* over an input padded to
// exactly the rows and columns the windows read (ceil_mode's extra window
// included). Averages divide by PyTorch's per-window divisor. Resizes are
// gathers whose indices and weights PyTorch's formulas give, computed here
// in f32 as its CPU kernels compute them.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// The (N, C, H, W) input padded with `fill` so that `out` windows of
/// `kernel` (dilated) every `stride` fit: `padding` before, whatever the
/// last window needs after (cropping rows no window reads).
Value padForWindows(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> out,
                    ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                    ArrayRef<int64_t> dilation, double fill) {
  ArrayRef<int64_t> in = tensorType(x).getShape();
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  for (unsigned i = 0; i < 2; ++i) {
    int64_t needed = (out[2 + i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1;
    low.push_back(padding[i]);
    high.push_back(needed - in[2 + i] - padding[i]);
  }
  return padWith(b, loc, x, low, high, fill);
}

template <typename PoolOp>
Value pool(OpBuilder &b, Location loc, Value padded, RankedTensorType type,
           ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation,
           double init) {
  Value window = tensor::EmptyOp::create(b, loc, kernel, type.getElementType());
  Value acc = filledWithFloat(b, loc, type.getShape(), type.getElementType(), init);
  return PoolOp::create(b, loc, TypeRange{type}, ValueRange{padded, window}, ValueRange{acc},
                        b.getI64VectorAttr(stride), b.getI64VectorAttr(dilation))
      .getResult(0);
}

struct MaxPool2dLowering : OpConversionPattern<aten::MaxPool2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::MaxPool2dOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResult().getType();
    double inf = std::numeric_limits<double>::infinity();
    Value padded = padForWindows(rewriter, op.getLoc(), adaptor.getSelf(), type.getShape(),
                                 op.getKernelSize(), op.getStride(), op.getPadding(),
                                 op.getDilation(), -inf);
    rewriter.replaceOp(op, pool<linalg::PoolingNchwMaxOp>(rewriter, op.getLoc(), padded, type,
                                                          op.getKernelSize(), op.getStride(),
                                                          op.getDilation(), -inf));
    return success();
  }
};

/// `sum` divided by `divisors` (one per output position), or by one number
/// when they are all the same.
Value divideWindows(OpBuilder &b, Location loc, Value sum, ArrayRef<int64_t> outHW,
                    ArrayRef<float> divisors) {
  RankedTensorType type = tensorType(sum);
  Type element = type.getElementType();
  bool uniform = llvm::all_equal(divisors);
  if (uniform) {
    Value d = floatConstant(b, loc, element, divisors.front());
    return buildElementwise(b, loc, sum, type, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return arith::DivFOp::create(nb, l, a[0], d);
    });
  }
  MLIRContext *ctx = b.getContext();
  Value table = floatTensorConstant(b, loc, outHW, divisors);
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(4),
      AffineMap::get(4, 0, {getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)}, ctx),
      b.getMultiDimIdentityMap(4)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), element);
  return buildGeneric(b, loc, {sum, table}, init, maps, iterators,
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::DivFOp::create(nb, l, a[0], a[1]);
                      });
}

struct AvgPool2dLowering : OpConversionPattern<aten::AvgPool2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::AvgPool2dOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    ArrayRef<int64_t> in = op.getSelf().getType().getShape(), out = type.getShape();
    ArrayRef<int64_t> k = op.getKernelSize(), s = op.getStride(), p = op.getPadding();
    SmallVector<int64_t> ones = {1, 1};
    Value padded = padForWindows(rewriter, loc, adaptor.getSelf(), out, k, s, p, ones, 0.0);
    Value sum = pool<linalg::PoolingNchwSumOp>(rewriter, loc, padded, type, k, s, ones, 0.0);
    // PyTorch's divisor per window (avg_pool2d_out_frame).
    SmallVector<float> divisors;
    for (int64_t oh = 0; oh < out[2]; ++oh)
      for (int64_t ow = 0; ow < out[3]; ++ow) {
        int64_t h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
        int64_t h1 = std::min(h0 + k[0], in[2] + p[0]), w1 = std::min(w0 + k[1], in[3] + p[1]);
        int64_t poolSize = (h1 - h0) * (w1 - w0);
        h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
        h1 = std::min(h1, in[2]), w1 = std::min(w1, in[3]);
        int64_t divisor = op.getDivisorOverride() ? *op.getDivisorOverride()
                          : op.getCountIncludePad() ? poolSize
                                                    : (h1 - h0) * (w1 - w0);
        divisors.push_back(static_cast<float>(divisor));
      }
    rewriter.replaceOp(op, divideWindows(rewriter, loc, sum, out.drop_front(2), divisors));
    return success();
  }
};

/// PyTorch's adaptive pooling windows: [floor(i in / out), ceil((i + 1) in / out)).
SmallVector<std::pair<int64_t, int64_t>> adaptiveWindows(int64_t in, int64_t out) {
  SmallVector<std::pair<int64_t, int64_t>> windows;
  for (int64_t i = 0; i < out; ++i)
    windows.push_back({i * in / out, ((i + 1) * in + out - 1) / out});
  return windows;
}

struct AdaptiveAvgPool2dLowering : OpConversionPattern<aten::AdaptiveAvgPool2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::AdaptiveAvgPool2dOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType type = op.getResult().getType();
    Value x = adaptor.getSelf();
    ArrayRef<int64_t> in = tensorType(x).getShape(), out = type.getShape();
    if (out[2] == 1 && out[3] == 1) {
      rewriter.replaceOp(op, meanOver(rewriter, loc, x, {2, 3}, /*keepdim=*/true));
      return success();
    }
    if (in[2] % out[2] == 0 && in[3] % out[3] == 0) {
      // Equal windows: an average pool.
      SmallVector<int64_t> k = {in[2] / out[2], in[3] / out[3]}, ones = {1, 1};
      Value sum = pool<linalg::PoolingNchwSumOp>(rewriter, loc, x, type, k, k, ones, 0.0);
      SmallVector<float> divisors(out[2] * out[3], static_cast<float>(k[0] * k[1]));
      rewriter.replaceOp(op, divideWindows(rewriter, loc, sum, out.drop_front(2), divisors));
      return success();
    }
    // Uneven or overlapping windows: out[n, c, i, j] = sum over (a, b) of
    // x[n, c, a, b] * rows[i, a] * cols[j, b], each weight matrix holding
    // 1 / window length inside the window.
    auto weights = [&](int64_t size, int64_t count) {
      SmallVector<float> values(count * size, 0.0f);
      for (auto [i, window] : llvm::enumerate(adaptiveWindows(size, count)))
        for (int64_t a = window.first; a < window.second; ++a)
          values[i * size + a] = 1.0f / static_cast<float>(window.second - window.first);
      return floatTensorConstant(rewriter, loc, {count, size}, values);
    };
    Value rows = weights(in[2], out[2]), cols = weights(in[3], out[3]);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineMap> maps = {AffineMap::get(6, 0, {d(0), d(1), d(4), d(5)}, ctx),
                                   AffineMap::get(6, 0, {d(2), d(4)}, ctx),
                                   AffineMap::get(6, 0, {d(3), d(5)}, ctx),
                                   AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx)};
    SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
    iterators.append(2, utils::IteratorType::reduction);
    Value init = zerosOf(rewriter, loc, type);
    rewriter.replaceOp(op, buildGeneric(rewriter, loc, {x, rows, cols}, init, maps, iterators,
                                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                          Value w = arith::MulFOp::create(b, l, a[1], a[2]);
                                          Value t = arith::MulFOp::create(b, l, a[0], w);
                                          return arith::AddFOp::create(b, l, a[3], t);
                                        }));
    return success();
  }
};

/// PyTorch's compute_scales_value: 1 / scale when given, else in / out (f32).
float resizeScale(std::optional<APFloat> scale, int64_t in, int64_t out) {
  if (scale && scale->convertToDouble() > 0)
    return static_cast<float>(1.0 / scale->convertToDouble());
  return static_cast<float>(in) / static_cast<float>(out);
}

/// A gather over the (N, C, OH, OW) result: `rowInputs` and `colInputs` are
/// per-row and per-column tables (read at d2 and d3); `body` gets them and
/// a reader of x[n, c, row, col].
Value resizeGather(OpBuilder &b, Location loc, Value x, RankedTensorType type,
                   ArrayRef<Value> rowInputs, ArrayRef<Value> colInputs,
                   function_ref<Value(OpBuilder &, Location, ValueRange, ValueRange,
                                      function_ref<Value(Value, Value)>)>
                       body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> inputs(rowInputs);
  llvm::append_range(inputs, colInputs);
  SmallVector<AffineMap> maps;
  for (size_t i = 0; i < rowInputs.size(); ++i)
    maps.push_back(AffineMap::get(4, 0, getAffineDimExpr(2, ctx)));
  for (size_t i = 0; i < colInputs.size(); ++i)
    maps.push_back(AffineMap::get(4, 0, getAffineDimExpr(3, ctx)));
  maps.push_back(b.getMultiDimIdentityMap(4));
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return buildGeneric(b, loc, inputs, init, maps, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange args) {
                        Value n = linalg::IndexOp::create(nb, l, 0);
                        Value c = linalg::IndexOp::create(nb, l, 1);
                        auto read = [&](Value row, Value col) -> Value {
                          auto index = [&](Value v) {
                            return arith::IndexCastOp::create(nb, l, nb.getIndexType(), v);
                          };
                          return tensor::ExtractOp::create(nb, l, x,
                                                           ValueRange{n, c, index(row), index(col)});
                        };
                        return body(nb, l, args.take_front(rowInputs.size()),
                                    args.slice(rowInputs.size(), colInputs.size()), read);
                      });
}

struct UpsampleNearest2dLowering : OpConversionPattern<aten::UpsampleNearest2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::UpsampleNearest2dOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    ArrayRef<int64_t> in = op.getSelf().getType().getShape(), out = type.getShape();
    // PyTorch's nearest_idx.
    auto table = [&](int64_t inSize, int64_t outSize, std::optional<APFloat> scale) {
      SmallVector<int64_t> idx;
      float s = resizeScale(scale, inSize, outSize);
      for (int64_t i = 0; i < outSize; ++i) {
        if (outSize == inSize)
          idx.push_back(i);
        else if (outSize == 2 * inSize)
          idx.push_back(i >> 1);
        else
          idx.push_back(std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * s)),
                                 inSize - 1));
      }
      return indexConstant(rewriter, loc, {outSize}, idx);
    };
    Value rows = table(in[2], out[2], op.getScalesH()), cols = table(in[3], out[3], op.getScalesW());
    rewriter.replaceOp(op, resizeGather(rewriter, loc, adaptor.getSelf(), type, {rows}, {cols},
                                        [](OpBuilder &, Location, ValueRange r, ValueRange c,
                                           function_ref<Value(Value, Value)> read) {
                                          return read(r[0], c[0]);
                                        }));
    return success();
  }
};

struct UpsampleBilinear2dLowering : OpConversionPattern<aten::UpsampleBilinear2dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::UpsampleBilinear2dOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    ArrayRef<int64_t> in = op.getSelf().getType().getShape(), out = type.getShape();
    bool alignCorners = op.getAlignCorners();
    // PyTorch's compute_indices_weights_linear: the lower source index, the
    // step to the upper one (0 at the edge) and the two weights.
    auto tables = [&](int64_t inSize, int64_t outSize, std::optional<APFloat> scales) {
      float scale = alignCorners ? (outSize > 1 ? static_cast<float>(inSize - 1) / (outSize - 1) : 0.0f)
                                 : resizeScale(scales, inSize, outSize);
      SmallVector<int64_t> lower, upper;
      SmallVector<float> w0, w1;
      for (int64_t i = 0; i < outSize; ++i) {
        if (outSize == inSize) { // PyTorch copies rows through, whatever the scale
          lower.push_back(i), upper.push_back(i), w0.push_back(1.0f), w1.push_back(0.0f);
          continue;
        }
        float real = alignCorners ? scale * static_cast<float>(i)
                                  : std::max(scale * (static_cast<float>(i) + 0.5f) - 0.5f, 0.0f);
        int64_t index = std::min(static_cast<int64_t>(real), inSize - 1);
        int64_t step = index < inSize - 1 ? 1 : 0;
        float lambda = std::min(std::max(real - static_cast<float>(index), 0.0f), 1.0f);
        lower.push_back(index);
        upper.push_back(index + step);
        w0.push_back(1.0f - lambda);
        w1.push_back(lambda);
      }
      return SmallVector<Value>{indexConstant(rewriter, loc, {outSize}, lower),
                                indexConstant(rewriter, loc, {outSize}, upper),
                                floatTensorConstant(rewriter, loc, {outSize}, w0),
                                floatTensorConstant(rewriter, loc, {outSize}, w1)};
    };
    SmallVector<Value> rows = tables(in[2], out[2], op.getScalesH());
    SmallVector<Value> cols = tables(in[3], out[3], op.getScalesW());
    Value result = resizeGather(
        rewriter, loc, adaptor.getSelf(), type, rows, cols,
        [](OpBuilder &b, Location l, ValueRange r, ValueRange c,
           function_ref<Value(Value, Value)> read) -> Value {
          auto mul = [&](Value x, Value y) { return arith::MulFOp::create(b, l, x, y).getResult(); };
          auto add = [&](Value x, Value y) { return arith::AddFOp::create(b, l, x, y).getResult(); };
          auto row = [&](Value index) {
            return add(mul(c[2], read(index, c[0])), mul(c[3], read(index, c[1])));
          };
          return add(mul(r[2], row(r[0])), mul(r[3], row(r[1])));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void aten_to_linalg::populatePoolingPatterns(RewritePatternSet &patterns) {
  patterns.add<MaxPool2dLowering, AvgPool2dLowering, AdaptiveAvgPool2dLowering,
               UpsampleNearest2dLowering, UpsampleBilinear2dLowering>(patterns.getContext());
}
