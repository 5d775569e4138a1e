//===- StridedCopiesToLoops.cpp - the amp-strided-copies-to-loops pass -----===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPSTRIDEDCOPIESTOLOOPS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// memref.copy with a side the copy's lowering cannot take -> linalg.copy.
struct StridedCopyToLinalg : OpRewritePattern<memref::CopyOp> {
  StridedCopyToLinalg(MLIRContext *context, bool keepContiguous)
      : OpRewritePattern(context), keepContiguous(keepContiguous) {}

  LogicalResult matchAndRewrite(memref::CopyOp copy, PatternRewriter &rewriter) const override {
    auto source = dyn_cast<MemRefType>(copy.getSource().getType());
    auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
    if (!source || !target)
      return failure();
    auto supported = [&](MemRefType type) {
      return type.getLayout().isIdentity() ||
             (keepContiguous && memref::isStaticShapeAndContiguousRowMajor(type));
    };
    if (supported(source) && supported(target))
      return failure();
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(), copy.getTarget());
    return success();
  }

  bool keepContiguous;
};

struct AMPStridedCopiesToLoopsPass
    : ampc::impl::AMPStridedCopiesToLoopsBase<AMPStridedCopiesToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    ampc::populateStridedCopiesToLoopsPatterns(patterns, keepContiguous);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void ampc::populateStridedCopiesToLoopsPatterns(RewritePatternSet &patterns,
                                                bool keepContiguous) {
  patterns.add<StridedCopyToLinalg>(patterns.getContext(), keepContiguous);
}
