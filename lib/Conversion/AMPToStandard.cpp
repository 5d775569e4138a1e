//===- AMPToStandard.cpp - the convert-amp-to-standard pass -----------------===//

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Utils/LinalgBuilders.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <array>
#include <limits>

namespace ampc {
#define GEN_PASS_DEF_CONVERTAMPTOSTANDARD
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {
struct CastOpLowering : OpConversionPattern<amp::CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value input = adaptor.getInput();
    Type resultType = op.getType();
    auto from = cast<FloatType>(getElementTypeOrSelf(input.getType()));
    auto to = cast<FloatType>(getElementTypeOrSelf(resultType));
    Location loc = op.getLoc();
    if (amp::CastOp::isExactConversion(from, to)) {
      rewriter.replaceOpWithNewOp<arith::ExtFOp>(op, resultType, input);
      return success();
    }
    if (amp::CastOp::isExactConversion(to, from)) {
      rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, resultType, input);
      return success();
    }
    // Neither holds the other (f16 <-> bf16): widen exactly to f32, then round
    // once, which is what a direct conversion does.
    Type wide = amp::withElementType(resultType, rewriter.getF32Type());
    Value widened = arith::ExtFOp::create(rewriter, loc, wide, input);
    rewriter.replaceOpWithNewOp<arith::TruncFOp>(op, resultType, widened);
    return success();
  }
};

/// dLoss/dLoss is one.
struct GradSeedOpLowering : OpConversionPattern<amp::GradSeedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::GradSeedOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = op.getType();
    TypedAttr one = rewriter.getF32FloatAttr(1.0f);
    if (auto shaped = dyn_cast<ShapedType>(type))
      one = DenseElementsAttr::get(shaped, rewriter.getF32FloatAttr(1.0f).getValue());
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, type, one);
    return success();
  }
};

/// Helpers for the optimizer lowerings: scalars are built outside the
/// elementwise generic and captured by its payload.
struct ScalarBuilder {
  OpBuilder &b;
  Location loc;
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value f64(double v) { return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v)); }
  Value toF32(Value v) { return arith::TruncFOp::create(b, loc, b.getF32Type(), v); }
  /// A hyperparameter in f64: the run-time input (a tensor<f64>) when the op
  /// has one, else the compiled value.
  Value hyper(Value input, APFloat value) {
    if (!input)
      return f64(value.convertToDouble());
    // One read per run-time input, however many terms use it.
    Value &scalar = extracted[input];
    if (!scalar)
      scalar = tensor::ExtractOp::create(b, loc, input, ValueRange{});
    return scalar;
  }
  DenseMap<Value, Value> extracted;
  /// `fn(hyperparameter)` rounded to f32, as PyTorch passes a Python float
  /// to an f32 kernel. Compiled values are folded here, so the IR of a step
  /// without run-time inputs has plain f32 constants.
  Value hyperF32(Value input, APFloat value, function_ref<double(double)> fn,
                 function_ref<Value(Value)> fnValue) {
    if (!input)
      return f32(fn(value.convertToDouble()));
    return toF32(fnValue(hyper(input, value)));
  }
  Value hyperF32(Value input, APFloat value) {
    return hyperF32(input, value, [](double v) { return v; }, [](Value v) { return v; });
  }
  /// `1 - v` in f64.
  Value oneMinus(Value v) { return arith::SubFOp::create(b, loc, f64(1.0), v); }
  /// Whether a run-time hyperparameter is non-zero (torch skips the weight
  /// decay term when it is 0, which matters for inf/NaN params).
  Value isNonZero(Value v) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, f64(0.0));
  }
  /// Reads a tensor<i64> step counter and returns (step, step + 1, tensor of step + 1).
  std::tuple<Value, Value, Value> step(Value stepTensor) {
    Value step = tensor::ExtractOp::create(b, loc, stepTensor, ValueRange{});
    Value one = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1));
    Value next = arith::AddIOp::create(b, loc, step, one);
    Value nextTensor = tensor::FromElementsOp::create(
        b, loc, cast<RankedTensorType>(stepTensor.getType()), ValueRange{next});
    return {step, next, nextTensor};
  }
};

/// Builds one elementwise linalg.generic over `inputs` (all of `type`) with
/// `numResults` results of `type`; `body` maps payload arguments to yields.
static SmallVector<Value> buildElementwise(
    OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
    unsigned numResults,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, inputs.front());
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numResults; ++i)
    inits.push_back(tensor::EmptyOp::create(b, loc, sizes, type.getElementType()));
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<AffineMap> maps(inputs.size() + numResults, id);
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, SmallVector<Type>(numResults, type), inputs, inits, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        SmallVector<Value> yields = body(nested, nestedLoc, args.take_front(inputs.size()));
        linalg::YieldOp::create(nested, nestedLoc, yields);
      });
  return SmallVector<Value>(generic.getResults().begin(), generic.getResults().end());
}

/// torch's `a + alpha * b` (Tensor.add with alpha).
static Value addScaled(OpBuilder &b, Location loc, Value a, Value alpha, Value x) {
  return arith::AddFOp::create(b, loc, a, arith::MulFOp::create(b, loc, alpha, x));
}

struct SGDOpLowering : OpConversionPattern<amp::SGDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::SGDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    auto type = cast<RankedTensorType>(op.getParam().getType());
    double wd = op.getWeightDecay().convertToDouble();
    double momentum = op.getMomentum().convertToDouble();
    // The attribute decides whether there is a momentum buffer; a run-time
    // momentum only changes its weight.
    bool hasMomentum = momentum != 0.0;
    Value lrInput = adaptor.getLrInput(), wdInput = adaptor.getWeightDecayInput();
    Value negLr = s.hyperF32(
        lrInput, op.getLr(), [](double v) { return -v; },
        [&](Value v) { return arith::NegFOp::create(rewriter, loc, v); });
    Value wdC = s.hyperF32(wdInput, op.getWeightDecay());
    Value momentumC = s.hyperF32(adaptor.getMomentumInput(), op.getMomentum());
    Value dampC = s.f32(1.0 - op.getDampening().convertToDouble());
    bool applyDecay = wdInput || wd != 0.0;
    Value decayOn = wdInput ? s.isNonZero(s.hyper(wdInput, op.getWeightDecay())) : Value();
    // A run-time momentum of 0 is torch's plain SGD: the gradient is the
    // update and the buffer is left as it was (torch does not touch it).
    Value momentumInput = adaptor.getMomentumInput();
    Value momentumOn = momentumInput && hasMomentum
                           ? s.isNonZero(s.hyper(momentumInput, op.getMomentum()))
                           : Value();
    Value first, nextStep;
    SmallVector<Value> inputs{adaptor.getParam(), adaptor.getGrad()};
    if (hasMomentum) {
      auto [step, next, nextTensor] = s.step(adaptor.getState()[1]);
      Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getI64IntegerAttr(0));
      first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, step, zero);
      nextStep = nextTensor;
      inputs.push_back(adaptor.getState()[0]);
    }
    bool nesterov = op.getNesterov();
    SmallVector<Value> results = buildElementwise(
        rewriter, loc, type, inputs, hasMomentum ? 2 : 1,
        [&](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
          Value p = args[0], g = args[1];
          if (applyDecay) {
            Value decayed = addScaled(b, l, g, wdC, p);
            g = decayOn ? arith::SelectOp::create(b, l, decayOn, decayed, g) : decayed;
          }
          if (!hasMomentum)
            return {addScaled(b, l, p, negLr, g)};
          Value running = addScaled(b, l, arith::MulFOp::create(b, l, args[2], momentumC),
                                    dampC, g);
          Value buf = arith::SelectOp::create(b, l, first, g, running);
          Value d = nesterov ? addScaled(b, l, g, momentumC, buf) : buf;
          if (momentumOn) {
            d = arith::SelectOp::create(b, l, momentumOn, d, g);
            buf = arith::SelectOp::create(b, l, momentumOn, buf, args[2]);
          }
          return {addScaled(b, l, p, negLr, d), buf};
        });
    if (hasMomentum)
      results.push_back(nextStep);
    rewriter.replaceOp(op, results);
    return success();
  }
};

template <typename AdamOp, bool decoupled>
struct AdamOpLowering : OpConversionPattern<AdamOp> {
  using OpConversionPattern<AdamOp>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AdamOp op, typename AdamOp::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    auto type = cast<RankedTensorType>(op.getParam().getType());
    double wd = op.getWeightDecay().convertToDouble();
    Value lrInput = adaptor.getLrInput(), wdInput = adaptor.getWeightDecayInput();
    Value beta1Input = adaptor.getBeta1Input(), beta2Input = adaptor.getBeta2Input();
    Value lr = s.hyper(lrInput, op.getLr());
    Value beta1 = s.hyper(beta1Input, op.getBeta1());
    Value beta2 = s.hyper(beta2Input, op.getBeta2());
    auto [step, next, nextTensor] = s.step(adaptor.getStep());
    (void)step;
    // Bias corrections in f64, as PyTorch computes them with Python floats.
    Value stepF = arith::SIToFPOp::create(rewriter, loc, rewriter.getF64Type(), next);
    Value bc1 = s.oneMinus(math::PowFOp::create(rewriter, loc, beta1, stepF));
    Value bc2 = s.oneMinus(math::PowFOp::create(rewriter, loc, beta2, stepF));
    Value negStepSize = s.toF32(arith::NegFOp::create(
        rewriter, loc, arith::DivFOp::create(rewriter, loc, lr, bc1)));
    Value bc2Sqrt = s.toF32(math::SqrtOp::create(rewriter, loc, bc2));
    auto oneMinusValue = [](double v) { return 1.0 - v; };
    auto oneMinusOp = [&](Value v) { return s.oneMinus(v); };
    Value lerpWeight = s.hyperF32(beta1Input, op.getBeta1(), oneMinusValue, oneMinusOp);
    Value beta2C = s.hyperF32(beta2Input, op.getBeta2());
    Value oneMinusBeta2 = s.hyperF32(beta2Input, op.getBeta2(), oneMinusValue, oneMinusOp);
    Value eps = s.hyperF32(adaptor.getEpsInput(), op.getEps());
    Value wdC = s.hyperF32(wdInput, op.getWeightDecay());
    Value decay;
    if (lrInput || wdInput)
      decay = s.toF32(s.oneMinus(arith::MulFOp::create(
          rewriter, loc, lr, s.hyper(wdInput, op.getWeightDecay()))));
    else
      decay = s.f32(1.0 - op.getLr().convertToDouble() * wd);
    bool applyDecay = wdInput || wd != 0.0;
    Value decayOn = wdInput ? s.isNonZero(s.hyper(wdInput, op.getWeightDecay())) : Value();
    // torch.lerp picks its formula by the weight's size: |1 - beta1| < 0.5.
    bool smallWeight = std::abs(1.0 - op.getBeta1().convertToDouble()) < 0.5;
    Value smallWeightOn;
    if (beta1Input)
      smallWeightOn = arith::CmpFOp::create(
          rewriter, loc, arith::CmpFPredicate::OLT,
          math::AbsFOp::create(rewriter, loc, s.oneMinus(beta1)), s.f64(0.5));
    Value oneF = s.f32(1.0);
    SmallVector<Value> results = buildElementwise(
        rewriter, loc, type,
        {adaptor.getParam(), adaptor.getGrad(), adaptor.getExpAvg(), adaptor.getExpAvgSq()}, 3,
        [&](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
          Value p = args[0], g = args[1], m = args[2], v = args[3];
          auto onlyIf = [&](Value on, Value changed, Value unchanged) -> Value {
            return on ? arith::SelectOp::create(b, l, on, changed, unchanged) : changed;
          };
          if (decoupled && applyDecay)
            p = onlyIf(decayOn, arith::MulFOp::create(b, l, p, decay), p);
          if (!decoupled && applyDecay)
            g = onlyIf(decayOn, addScaled(b, l, g, wdC, p), g);
          // torch.lerp: the formula depends on the weight's size.
          Value diff = arith::SubFOp::create(b, l, g, m);
          auto smallForm = [&] {
            return arith::AddFOp::create(b, l, m, arith::MulFOp::create(b, l, lerpWeight, diff));
          };
          auto largeForm = [&] {
            return arith::SubFOp::create(
                b, l, g,
                arith::MulFOp::create(b, l, diff,
                                      arith::SubFOp::create(b, l, oneF, lerpWeight)));
          };
          Value mNew;
          if (smallWeightOn)
            mNew = arith::SelectOp::create(b, l, smallWeightOn, smallForm(), largeForm());
          else
            mNew = smallWeight ? Value(smallForm()) : Value(largeForm());
          Value vScaled = arith::MulFOp::create(b, l, v, beta2C);
          Value vNew = arith::AddFOp::create(
              b, l, vScaled,
              arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, oneMinusBeta2, g), g));
          Value denom = arith::AddFOp::create(
              b, l, arith::DivFOp::create(b, l, math::SqrtOp::create(b, l, vNew), bc2Sqrt), eps);
          Value update = arith::DivFOp::create(
              b, l, arith::MulFOp::create(b, l, negStepSize, mNew), denom);
          return {arith::AddFOp::create(b, l, p, update), mNew, vNew};
        });
    results.push_back(nextTensor);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// grad * f32(1 / f64(scale)), as GradScaler computes the inverse scale.
struct UnscaleOpLowering : OpConversionPattern<amp::UnscaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::UnscaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    Value scale = tensor::ExtractOp::create(rewriter, loc, adaptor.getScale(), ValueRange{});
    Value wide = arith::ExtFOp::create(rewriter, loc, rewriter.getF64Type(), scale);
    Value inv = s.toF32(arith::DivFOp::create(rewriter, loc, s.f64(1.0), wide));
    SmallVector<Value> results = buildElementwise(
        rewriter, loc, cast<RankedTensorType>(op.getType()), {adaptor.getGrad()}, 1,
        [&](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
          return {arith::MulFOp::create(b, l, args[0], inv)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// torch.nn.utils.clip_grad_norm_: per-gradient norms by one f32 reduction
/// each, their norm, then every gradient times min(max_norm / (norm + 1e-6), 1).
struct ClipGradNormOpLowering : OpConversionPattern<amp::ClipGradNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::ClipGradNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    double p = op.getNormType().convertToDouble();
    bool isMax = std::isinf(p), isSquare = p == 2.0;
    auto scalarType = RankedTensorType::get({}, rewriter.getF32Type());
    // combine(acc, |g|^p) per element; the same over the per-gradient norms.
    auto combine = [&](OpBuilder &b, Location l, Value acc, Value x) -> Value {
      Value abs = math::AbsFOp::create(b, l, x);
      if (isMax)
        return arith::MaximumFOp::create(b, l, acc, abs);
      return arith::AddFOp::create(b, l, acc, isSquare ? arith::MulFOp::create(b, l, x, x) : abs);
    };
    Value total;
    for (Value grad : adaptor.getGrads()) {
      auto type = cast<RankedTensorType>(grad.getType());
      Value empty =
          tensor::EmptyOp::create(rewriter, loc, ArrayRef<int64_t>{}, rewriter.getF32Type());
      Value init = linalg::FillOp::create(rewriter, loc, s.f32(0.0), empty).getResult(0);
      SmallVector<AffineMap> maps{rewriter.getMultiDimIdentityMap(type.getRank()),
                                  AffineMap::get(type.getRank(), 0, {}, rewriter.getContext())};
      SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::reduction);
      auto reduce = linalg::GenericOp::create(
          rewriter, loc, TypeRange{scalarType}, ValueRange{grad}, ValueRange{init}, maps, iterators,
          [&](OpBuilder &b, Location l, ValueRange args) {
            linalg::YieldOp::create(b, l, ValueRange{combine(b, l, args[1], args[0])});
          });
      Value norm = tensor::ExtractOp::create(rewriter, loc, reduce.getResult(0), ValueRange{});
      if (isSquare)
        norm = math::SqrtOp::create(rewriter, loc, norm);
      // The norm of the norms (each >= 0, so |n| = n).
      total = total ? combine(rewriter, loc, total, norm)
                    : combine(rewriter, loc, s.f32(0.0), norm);
    }
    if (isSquare)
      total = math::SqrtOp::create(rewriter, loc, total);
    Value coef = arith::DivFOp::create(
        rewriter, loc, s.f32(op.getMaxNorm().convertToDouble()),
        arith::AddFOp::create(rewriter, loc, total, s.f32(1e-6)));
    // torch.clamp(max=1.0) keeps NaN.
    Value clamped = arith::MinimumFOp::create(rewriter, loc, coef, s.f32(1.0));
    SmallVector<Value> results;
    for (Value grad : adaptor.getGrads())
      results.push_back(buildElementwise(
          rewriter, loc, cast<RankedTensorType>(grad.getType()), {grad}, 1,
          [&](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
            return {arith::MulFOp::create(b, l, args[0], clamped)};
          })[0]);
    results.push_back(tensor::FromElementsOp::create(rewriter, loc, scalarType, ValueRange{total}));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// torch.clamp(grad, -v, v) (NaN stays NaN).
struct ClipGradValueOpLowering : OpConversionPattern<amp::ClipGradValueOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::ClipGradValueOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    double v = op.getClipValue().convertToDouble();
    Value low = s.f32(-v), high = s.f32(v);
    SmallVector<Value> results = buildElementwise(
        rewriter, loc, cast<RankedTensorType>(op.getType()), {adaptor.getGrad()}, 1,
        [&](OpBuilder &b, Location l, ValueRange args) -> SmallVector<Value> {
          Value lower = arith::MaximumFOp::create(b, l, args[0], low);
          return {arith::MinimumFOp::create(b, l, lower, high)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// One reduction per input: AND over |x| < inf (false for inf and NaN).
struct AllFiniteOpLowering : OpConversionPattern<amp::AllFiniteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::AllFiniteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto flagType = cast<RankedTensorType>(op.getType());
    Value inf = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF32FloatAttr(std::numeric_limits<float>::infinity()));
    Value trueV = arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(true));
    Value all = trueV;
    for (Value input : adaptor.getInputs()) {
      auto type = cast<RankedTensorType>(input.getType());
      Value empty = tensor::EmptyOp::create(rewriter, loc, flagType.getShape(), rewriter.getI1Type());
      Value init = linalg::FillOp::create(rewriter, loc, trueV, empty).getResult(0);
      SmallVector<AffineMap> maps{
          rewriter.getMultiDimIdentityMap(type.getRank()),
          AffineMap::get(type.getRank(), 0, {}, rewriter.getContext())};
      SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::reduction);
      auto reduce = linalg::GenericOp::create(
          rewriter, loc, TypeRange{flagType}, ValueRange{input}, ValueRange{init}, maps, iterators,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value abs = math::AbsFOp::create(b, l, args[0]);
            Value finite = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, abs, inf);
            linalg::YieldOp::create(b, l, ValueRange{arith::AndIOp::create(b, l, args[1], finite)});
          });
      Value flag = tensor::ExtractOp::create(rewriter, loc, reduce.getResult(0), ValueRange{});
      all = arith::AndIOp::create(rewriter, loc, all, flag);
    }
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, flagType, ValueRange{all});
    return success();
  }
};

/// GradScaler's _amp_update_scale_, on scalars (products in f64, as the
/// kernel multiplies a float by a double).
struct UpdateScaleOpLowering : OpConversionPattern<amp::UpdateScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::UpdateScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ScalarBuilder s{rewriter, loc};
    auto &b = rewriter;
    Value scale = tensor::ExtractOp::create(b, loc, adaptor.getScale(), ValueRange{});
    Value tracker = tensor::ExtractOp::create(b, loc, adaptor.getGrowthTracker(), ValueRange{});
    Value ok = tensor::ExtractOp::create(b, loc, adaptor.getAllFinite(), ValueRange{});
    Value wide = arith::ExtFOp::create(b, loc, b.getF64Type(), scale);
    auto times = [&](double factor) {
      return s.toF32(arith::MulFOp::create(b, loc, wide, s.f64(factor)));
    };
    Value backedOff = times(op.getBackoffFactor().convertToDouble());
    Value grown = times(op.getGrowthFactor().convertToDouble());
    Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    Value one = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));
    Value interval = arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(static_cast<int32_t>(op.getGrowthInterval())));
    Value successful = arith::AddIOp::create(b, loc, tracker, one);
    Value reached = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, successful, interval);
    Value inf = s.f32(std::numeric_limits<float>::infinity());
    Value grownFinite = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                              math::AbsFOp::create(b, loc, grown), inf);
    Value grow = arith::AndIOp::create(b, loc, reached, grownFinite);
    Value scaleIfOk = arith::SelectOp::create(b, loc, grow, grown, scale);
    Value trackerIfOk = arith::SelectOp::create(b, loc, reached, zero, successful);
    Value newScale = arith::SelectOp::create(b, loc, ok, scaleIfOk, backedOff);
    Value newTracker = arith::SelectOp::create(b, loc, ok, trackerIfOk, zero);
    double lo = op.getMinScale().convertToDouble(), hi = op.getMaxScale().convertToDouble();
    if (lo > 0)
      newScale = arith::MaximumFOp::create(b, loc, newScale, s.f32(lo));
    if (hi < std::numeric_limits<double>::infinity())
      newScale = arith::MinimumFOp::create(b, loc, newScale, s.f32(hi));
    Value scaleT = tensor::FromElementsOp::create(
        b, loc, cast<RankedTensorType>(op.getNewScale().getType()), ValueRange{newScale});
    Value trackerT = tensor::FromElementsOp::create(
        b, loc, cast<RankedTensorType>(op.getNewGrowthTracker().getType()), ValueRange{newTracker});
    rewriter.replaceOp(op, {scaleT, trackerT});
    return success();
  }
};


struct StopGradientOpLowering : OpConversionPattern<amp::StopGradientOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(amp::StopGradientOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

/// Philox4x32-10 (Random123's philox4x32_R with R = 10) on 32-bit words.
struct Philox {
  OpBuilder &b;
  Location loc;
  Value i32(uint32_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v))); }
  Value i64(uint64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(static_cast<int64_t>(v))); }
  Value low(Value v64) { return arith::TruncIOp::create(b, loc, b.getI32Type(), v64); }
  Value high(Value v64) { return low(arith::ShRUIOp::create(b, loc, v64, i64(32))); }
  Value xorOf(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  /// The full 64-bit product of two 32-bit words.
  Value wide(Value x, uint32_t m) {
    Value x64 = arith::ExtUIOp::create(b, loc, b.getI64Type(), x);
    return arith::MulIOp::create(b, loc, x64, i64(m));
  }
  std::array<Value, 4> run(std::array<Value, 4> ctr, Value k0, Value k1) {
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        k0 = arith::AddIOp::create(b, loc, k0, i32(0x9E3779B9u));
        k1 = arith::AddIOp::create(b, loc, k1, i32(0xBB67AE85u));
      }
      Value p0 = wide(ctr[0], 0xD2511F53u), p1 = wide(ctr[2], 0xCD9E8D57u);
      ctr = {xorOf(xorOf(high(p1), ctr[1]), k0), low(p1), xorOf(xorOf(high(p0), ctr[3]), k1),
             low(p0)};
    }
    return ctr;
  }
};

/// Element e of the result: the first word of Philox4x32-10 with key =
/// seed and counter = (e, stream, offset low, offset high), its top 24 bits
/// scaled to [0, 1).
struct RandomUniformOpLowering : OpConversionPattern<amp::RandomUniformOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(amp::RandomUniformOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    auto read = [&](int64_t i) -> Value {
      Value index = arith::ConstantIndexOp::create(rewriter, loc, i);
      return tensor::ExtractOp::create(rewriter, loc, adaptor.getRng(), ValueRange{index});
    };
    Value seed = read(0), offset = read(1);
    int64_t rank = type.getRank();
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * type.getDimSize(d + 1);
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType());
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, ValueRange{}, init, {rewriter.getMultiDimIdentityMap(rank)}, iterators,
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Philox philox{b, l};
          Value linear = arith::ConstantIndexOp::create(b, l, 0);
          for (int64_t d = 0; d < rank; ++d) {
            Value index = linalg::IndexOp::create(b, l, d);
            Value stride = arith::ConstantIndexOp::create(b, l, strides[d]);
            linear = arith::AddIOp::create(b, l, linear, arith::MulIOp::create(b, l, index, stride));
          }
          Value e = arith::IndexCastUIOp::create(b, l, b.getI32Type(), linear);
          std::array<Value, 4> words = philox.run(
              {e, philox.i32(static_cast<uint32_t>(op.getStream())), philox.low(offset),
               philox.high(offset)},
              philox.low(seed), philox.high(seed));
          Value top = arith::ShRUIOp::create(b, l, words[0], philox.i32(8));
          Value f = arith::UIToFPOp::create(b, l, b.getF32Type(), top);
          return arith::MulFOp::create(b, l, f, floatConstant(b, l, b.getF32Type(), 0x1p-24));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ConvertAMPToStandardPass
    : public ampc::impl::ConvertAMPToStandardBase<ConvertAMPToStandardPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<amp::AMPDialect>();
    // The buffer form of a collective stays until after deallocation
    // (amp-cpu-collectives-to-mpi).
    target.addLegalOp<amp::AllReduceInPlaceOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(declareAMPCollectivesRuntime(getOperation())))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateAMPToStandardConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    // Nothing of the amp dialect is left: also drop its attributes (pins,
    // roles, markers), which later rewrites could no longer keep valid.
    getOperation()->walk([](Operation *op) {
      auto isAmp = [](NamedAttribute attr) {
        return attr.getName().getValue().starts_with("amp.");
      };
      for (NamedAttribute attr : llvm::to_vector(op->getDiscardableAttrs()))
        if (isAmp(attr))
          op->removeDiscardableAttr(attr.getName());
      auto func = dyn_cast<FunctionOpInterface>(op);
      if (!func)
        return;
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        for (NamedAttribute attr : llvm::to_vector(func.getArgAttrs(i)))
          if (isAmp(attr))
            func.removeArgAttr(i, attr.getName());
      for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
        for (NamedAttribute attr : llvm::to_vector(func.getResultAttrs(i)))
          if (isAmp(attr))
            func.removeResultAttr(i, attr.getName());
    });
  }
};
} // namespace

void ampc::populateAMPToStandardConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<ClipGradNormOpLowering, ClipGradValueOpLowering>(patterns.getContext());
  patterns.add<CastOpLowering, GradSeedOpLowering, SGDOpLowering,
               AdamOpLowering<amp::AdamOp, /*decoupled=*/false>,
               AdamOpLowering<amp::AdamWOp, /*decoupled=*/true>, UnscaleOpLowering,
               AllFiniteOpLowering, UpdateScaleOpLowering, StopGradientOpLowering,
               RandomUniformOpLowering>(patterns.getContext());
  populateAMPCollectivesToMPIPatterns(patterns);
}
