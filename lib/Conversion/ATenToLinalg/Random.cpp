//===- Random.cpp - aten random ops to amp.random_uniform -------------------===//

#include "Patterns.h"

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// Uniform [0, 1) f32 samples of `shape` from stream `stream` of `rng`.
Value uniform(OpBuilder &b, Location loc, Value rng, ArrayRef<int64_t> shape, int64_t stream) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return amp::RandomUniformOp::create(b, loc, type, rng, b.getI64IntegerAttr(stream));
}

struct BernoulliLowering : OpConversionPattern<aten::BernoulliOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::BernoulliOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    Value u = uniform(rewriter, loc, adaptor.getRng(), type.getShape(), op.getStream());
    double p = op.getP().convertToDouble();
    // u < p with u on a 2^-24 grid: P(1) = p to within 2^-24.
    Value result = buildElementwise(
        rewriter, loc, u, type, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value hit = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a[0],
                                            floatConstant(b, l, a[0].getType(), p));
          Type element = type.getElementType();
          return arith::SelectOp::create(b, l, hit, floatConstant(b, l, element, 1.0),
                                         floatConstant(b, l, element, 0.0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RandLowering : OpConversionPattern<aten::RandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::RandOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResult().getType();
    Value u = uniform(rewriter, op.getLoc(), adaptor.getRng(), type.getShape(), op.getStream());
    if (!type.getElementType().isF32())
      u = buildElementwise(rewriter, op.getLoc(), u, type,
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return convertScalar(b, l, a[0], type.getElementType());
                           });
    rewriter.replaceOp(op, u);
    return success();
  }
};

} // namespace

void aten_to_linalg::populateRandomPatterns(RewritePatternSet &patterns) {
  patterns.add<BernoulliLowering, RandLowering>(patterns.getContext());
}
