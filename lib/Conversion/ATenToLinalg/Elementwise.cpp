//===- Elementwise.cpp - aten elementwise ops to linalg.generic -------------===//
//
// One pattern per shape of op (unary, binary, select-like, conversions);
// the scalar payload of each op is written once, in PyTorch's order of
// operations, so results match its CPU kernels to rounding.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "llvm/ADT/TypeSwitch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// Scalar arithmetic on one float type, for payload builders.
struct FloatMath {
  OpBuilder &b;
  Location loc;
  Type type;
  Value c(double v) { return floatConstant(b, loc, type, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return arith::MaximumFOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinimumFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value gt(Value x, Value y) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, y);
  }
  Value select(Value cond, Value x, Value y) { return arith::SelectOp::create(b, loc, cond, x, y); }
  /// 1 / (1 + exp(-x))
  Value sigmoid(Value x) { return div(c(1.0), add(c(1.0), exp(neg(x)))); }
  /// min(max(x + 3, 0), 6) / 6
  Value hardsigmoid(Value x) { return div(min(max(add(x, c(3.0)), c(0.0)), c(6.0)), c(6.0)); }
};

/// x ^ exponent as PyTorch's pow kernel specializes common exponents.
Value powScalar(FloatMath &m, Value x, double exponent) {
  if (exponent == 1.0)
    return x;
  if (exponent == 2.0)
    return m.mul(x, x);
  if (exponent == 3.0)
    return m.mul(m.mul(x, x), x);
  if (exponent == 0.5)
    return math::SqrtOp::create(m.b, m.loc, x);
  if (exponent == -0.5)
    return math::RsqrtOp::create(m.b, m.loc, x);
  if (exponent == -1.0)
    return m.div(m.c(1.0), x);
  if (exponent == -2.0)
    return m.div(m.c(1.0), m.mul(x, x));
  return math::PowFOp::create(m.b, m.loc, x, m.c(exponent));
}

Value unaryPayload(Operation *op, OpBuilder &b, Location loc, Value x) {
  FloatMath m{b, loc, x.getType()};
  return llvm::TypeSwitch<Operation *, Value>(op)
      // ReLU as max(x, 0): amp-differentiate sends a tie (x = 0) to the
      // second operand, so the gradient at 0 is 0, as PyTorch's.
      .Case([&](aten::ReluOp) { return m.max(x, m.c(0.0)); })
      .Case([&](aten::SigmoidOp) { return m.sigmoid(x); })
      .Case([&](aten::TanhOp) { return math::TanhOp::create(b, loc, x); })
      .Case([&](aten::SiluOp) { return m.div(x, m.add(m.c(1.0), m.exp(m.neg(x)))); })
      .Case([&](aten::HardswishOp) { return m.mul(x, m.hardsigmoid(x)); })
      .Case([&](aten::HardsigmoidOp) { return m.hardsigmoid(x); })
      .Case([&](aten::NegOp) { return m.neg(x); })
      .Case([&](aten::ExpOp) { return m.exp(x); })
      .Case([&](aten::LogOp) { return math::LogOp::create(b, loc, x); })
      .Case([&](aten::SqrtOp) { return math::SqrtOp::create(b, loc, x); })
      .Case([&](aten::RsqrtOp) { return math::RsqrtOp::create(b, loc, x); })
      .Case([&](aten::AbsOp) { return math::AbsFOp::create(b, loc, x); })
      .Case([&](aten::ErfOp) { return math::ErfOp::create(b, loc, x); })
      .Case([&](aten::ReciprocalOp) { return m.div(m.c(1.0), x); })
      .Case([&](aten::SinOp) { return math::SinOp::create(b, loc, x); })
      .Case([&](aten::CosOp) { return math::CosOp::create(b, loc, x); })
      .Case([&](aten::GeluOp gelu) -> Value {
        Value half = m.mul(m.c(0.5), x);
        if (gelu.getApproximate() == "tanh") {
          // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
          Value cube = m.mul(m.mul(x, x), x);
          Value inner = m.mul(m.c(std::sqrt(2.0 / M_PI)), m.add(x, m.mul(m.c(0.044715), cube)));
          return m.mul(half, m.add(m.c(1.0), math::TanhOp::create(b, loc, inner)));
        }
        Value erf = math::ErfOp::create(b, loc, m.mul(x, m.c(M_SQRT1_2)));
        return m.mul(half, m.add(m.c(1.0), erf));
      })
      .Case([&](aten::LeakyReluOp op) {
        return m.select(m.gt(x, m.c(0.0)), x,
                        m.mul(x, m.c(op.getNegativeSlope().convertToDouble())));
      })
      .Case([&](aten::HardtanhOp op) {
        return m.min(m.max(x, m.c(op.getMinVal().convertToDouble())),
                     m.c(op.getMaxVal().convertToDouble()));
      })
      .Case([&](aten::ClampOp op) {
        Value r = x;
        Type type = x.getType();
        auto bound = [&](APFloat v) -> Value {
          if (isa<FloatType>(type))
            return m.c(v.convertToDouble());
          return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(v.convertToDouble())));
        };
        bool isFloat = isa<FloatType>(type);
        if (op.getMin())
          r = isFloat ? m.max(r, bound(*op.getMin())) : arith::MaxSIOp::create(b, loc, r, bound(*op.getMin()));
        if (op.getMax())
          r = isFloat ? m.min(r, bound(*op.getMax())) : arith::MinSIOp::create(b, loc, r, bound(*op.getMax()));
        return r;
      })
      .Case([&](aten::EluOp op) {
        double alpha = op.getAlpha().convertToDouble(), scale = op.getScale().convertToDouble();
        double inputScale = op.getInputScale().convertToDouble();
        Value expm1 = math::ExpM1Op::create(b, loc, m.mul(x, m.c(inputScale)));
        Value negative = m.mul(m.c(scale * alpha), expm1);
        return m.select(m.gt(x, m.c(0.0)), m.mul(x, m.c(scale)), negative);
      })
      .Case([&](aten::SoftplusOp op) {
        double beta = op.getBeta().convertToDouble();
        Value scaled = m.mul(x, m.c(beta));
        Value soft = m.div(math::Log1pOp::create(b, loc, m.exp(scaled)), m.c(beta));
        return m.select(m.gt(scaled, m.c(op.getThreshold().convertToDouble())), x, soft);
      })
      .Case([&](aten::PowTensorScalarOp op) {
        return powScalar(m, x, op.getExponent().convertToDouble());
      })
      .Default([](Operation *) -> Value { llvm_unreachable("not a unary aten op"); });
}

template <typename OpTy>
struct UnaryLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResult().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs a static shape");
    Value result = buildElementwise(rewriter, op.getLoc(), adaptor.getSelf(), type,
                                    [&](OpBuilder &b, Location loc, ValueRange args) {
                                      return unaryPayload(op, b, loc, args[0]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The unsigned form of a signed integer comparison.
arith::CmpIPredicate toUnsigned(arith::CmpIPredicate p) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::slt: return P::ult;
  case P::sle: return P::ule;
  case P::sgt: return P::ugt;
  case P::sge: return P::uge;
  default: return p;
  }
}

/// The type a comparison computes in: the wider float, else the wider integer.
Type comparisonType(Type a, Type b) {
  if (isa<FloatType>(a) != isa<FloatType>(b))
    return isa<FloatType>(a) ? a : b;
  return a.getIntOrFloatBitWidth() >= b.getIntOrFloatBitWidth() ? a : b;
}

/// Arithmetic on bools as PyTorch does it: + and max are or, * and min are and.
std::optional<Value> boolPayload(Operation *op, OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<aten::AddOp, aten::MaximumOp>(op))
    return arith::OrIOp::create(b, loc, x, y).getResult();
  if (isa<aten::MulOp, aten::MinimumOp>(op))
    return arith::AndIOp::create(b, loc, x, y).getResult();
  return std::nullopt;
}

Value binaryPayload(Operation *op, OpBuilder &b, Location loc, Value x, Value y) {
  Type type = x.getType();
  bool isFloat = isa<FloatType>(type);
  bool isBool = type.isInteger(1);
  if (isBool)
    if (std::optional<Value> result = boolPayload(op, b, loc, x, y))
      return *result;
  FloatMath m{b, loc, type};
  auto scaled = [&](Value v, APFloat alpha) -> Value {
    double a = alpha.convertToDouble();
    if (a == 1.0)
      return v;
    if (isFloat)
      return m.mul(v, m.c(a));
    Value ia = arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(a)));
    return arith::MulIOp::create(b, loc, v, ia);
  };
  auto compare = [&](arith::CmpFPredicate fp, arith::CmpIPredicate ip) -> Value {
    if (isFloat)
      return arith::CmpFOp::create(b, loc, fp, x, y);
    // Bools order false < true: unsigned.
    if (isBool)
      ip = toUnsigned(ip);
    return arith::CmpIOp::create(b, loc, ip, x, y);
  };
  using FP = arith::CmpFPredicate;
  using IP = arith::CmpIPredicate;
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](aten::AddOp add) -> Value {
        Value other = scaled(y, add.getAlpha());
        return isFloat ? m.add(x, other) : arith::AddIOp::create(b, loc, x, other).getResult();
      })
      .Case([&](aten::SubOp sub) -> Value {
        Value other = scaled(y, sub.getAlpha());
        return isFloat ? m.sub(x, other) : arith::SubIOp::create(b, loc, x, other).getResult();
      })
      .Case([&](aten::MulOp) -> Value {
        return isFloat ? m.mul(x, y) : arith::MulIOp::create(b, loc, x, y).getResult();
      })
      .Case([&](aten::DivOp) { return m.div(x, y); })
      .Case([&](aten::MaximumOp) -> Value {
        return isFloat ? m.max(x, y) : arith::MaxSIOp::create(b, loc, x, y).getResult();
      })
      .Case([&](aten::MinimumOp) -> Value {
        return isFloat ? m.min(x, y) : arith::MinSIOp::create(b, loc, x, y).getResult();
      })
      .Case([&](aten::PowTensorTensorOp) { return math::PowFOp::create(b, loc, x, y); })
      .Case([&](aten::EqOp) { return compare(FP::OEQ, IP::eq); })
      .Case([&](aten::NeOp) { return compare(FP::UNE, IP::ne); })
      .Case([&](aten::LtOp) { return compare(FP::OLT, IP::slt); })
      .Case([&](aten::LeOp) { return compare(FP::OLE, IP::sle); })
      .Case([&](aten::GtOp) { return compare(FP::OGT, IP::sgt); })
      .Case([&](aten::GeOp) { return compare(FP::OGE, IP::sge); })
      .Case([&](aten::LogicalAndOp) { return arith::AndIOp::create(b, loc, x, y); })
      .Case([&](aten::LogicalOrOp) { return arith::OrIOp::create(b, loc, x, y); })
      .Default([](Operation *) -> Value { llvm_unreachable("not a binary aten op"); });
}

template <typename OpTy>
struct BinaryLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResult().getType();
    Type lhs = getElementTypeOrSelf(op.getSelf().getType());
    Type rhs = getElementTypeOrSelf(op.getOther().getType());
    Type compute = type.getElementType();
    if (compute.isInteger(1) && !isa<aten::LogicalAndOp, aten::LogicalOrOp>(op.getOperation()))
      compute = comparisonType(lhs, rhs);
    Value result = broadcastGeneric(
        rewriter, op.getLoc(), {adaptor.getSelf(), adaptor.getOther()}, type,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value x = convertScalar(b, loc, args[0], compute);
          Value y = convertScalar(b, loc, args[1], compute);
          return binaryPayload(op, b, loc, x, y);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// condition ? yes : no, all three broadcast, the values converted to the
/// result's element type.
Value selectBroadcast(OpBuilder &b, Location loc, Value condition, Value yes, Value no,
                      RankedTensorType type) {
  return broadcastGeneric(b, loc, {condition, yes, no}, type,
                          [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                            Type element = type.getElementType();
                            return arith::SelectOp::create(nb, l, args[0],
                                                           convertScalar(nb, l, args[1], element),
                                                           convertScalar(nb, l, args[2], element));
                          });
}

struct WhereLowering : OpConversionPattern<aten::WhereOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::WhereOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, selectBroadcast(rewriter, op.getLoc(), adaptor.getCondition(),
                                           adaptor.getSelf(), adaptor.getOther(),
                                           op.getResult().getType()));
    return success();
  }
};

struct MaskedFillLowering : OpConversionPattern<aten::MaskedFillOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::MaskedFillOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, selectBroadcast(rewriter, op.getLoc(), adaptor.getMask(),
                                           adaptor.getValue(), adaptor.getSelf(),
                                           op.getResult().getType()));
    return success();
  }
};

struct ToLowering : OpConversionPattern<aten::ToOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::ToOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, broadcastAndConvert(rewriter, op.getLoc(), adaptor.getSelf(),
                                               op.getResult().getType()));
    return success();
  }
};

struct LogicalNotLowering : OpConversionPattern<aten::LogicalNotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::LogicalNotOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResult().getType();
    rewriter.replaceOp(
        op, broadcastGeneric(rewriter, op.getLoc(), adaptor.getSelf(), type,
                             [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
                               Value set = convertScalar(b, loc, args[0], b.getI1Type());
                               Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
                               return arith::XOrIOp::create(b, loc, set, one);
                             }));
    return success();
  }
};

struct DetachLowering : OpConversionPattern<aten::DetachOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::DetachOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<amp::StopGradientOp>(op, adaptor.getSelf());
    return success();
  }
};

} // namespace

void aten_to_linalg::populateElementwisePatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<UnaryLowering<aten::ReluOp>, UnaryLowering<aten::SigmoidOp>,
               UnaryLowering<aten::TanhOp>, UnaryLowering<aten::SiluOp>,
               UnaryLowering<aten::HardswishOp>, UnaryLowering<aten::HardsigmoidOp>,
               UnaryLowering<aten::NegOp>, UnaryLowering<aten::ExpOp>, UnaryLowering<aten::LogOp>,
               UnaryLowering<aten::SqrtOp>, UnaryLowering<aten::RsqrtOp>,
               UnaryLowering<aten::AbsOp>, UnaryLowering<aten::ErfOp>,
               UnaryLowering<aten::ReciprocalOp>, UnaryLowering<aten::SinOp>,
               UnaryLowering<aten::CosOp>, UnaryLowering<aten::GeluOp>,
               UnaryLowering<aten::LeakyReluOp>, UnaryLowering<aten::HardtanhOp>,
               UnaryLowering<aten::ClampOp>, UnaryLowering<aten::EluOp>,
               UnaryLowering<aten::SoftplusOp>, UnaryLowering<aten::PowTensorScalarOp>>(ctx);
  patterns.add<BinaryLowering<aten::AddOp>, BinaryLowering<aten::SubOp>,
               BinaryLowering<aten::MulOp>, BinaryLowering<aten::DivOp>,
               BinaryLowering<aten::MaximumOp>, BinaryLowering<aten::MinimumOp>,
               BinaryLowering<aten::PowTensorTensorOp>, BinaryLowering<aten::EqOp>,
               BinaryLowering<aten::NeOp>, BinaryLowering<aten::LtOp>,
               BinaryLowering<aten::LeOp>, BinaryLowering<aten::GtOp>,
               BinaryLowering<aten::GeOp>, BinaryLowering<aten::LogicalAndOp>,
               BinaryLowering<aten::LogicalOrOp>>(ctx);
  patterns.add<WhereLowering, MaskedFillLowering, ToLowering, LogicalNotLowering, DetachLowering>(
      ctx);
}
