//===- AMPToStandard.cpp - the convert-amp-to-standard pass -----------------===//

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"

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

struct ConvertAMPToStandardPass
    : public ampc::impl::ConvertAMPToStandardBase<ConvertAMPToStandardPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<amp::AMPDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateAMPToStandardConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void ampc::populateAMPToStandardConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<CastOpLowering>(patterns.getContext());
}
