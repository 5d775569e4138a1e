//===- CheckPrecision.cpp - the amp-check-precision pass --------------------===//

#include "ampc/Precision/Passes.h"
#include "ampc/Precision/PolicyLoading.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCHECKPRECISION
#include "ampc/Precision/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

static bool isPinnedF32(Operation *op) {
  return amp::getEffectivePrecision(op) == amp::Precision::f32;
}

namespace {
struct CheckPrecisionPass
    : public ampc::impl::AMPCheckPrecisionBase<CheckPrecisionPass> {
  using AMPCheckPrecisionBase::AMPCheckPrecisionBase;

  LogicalResult checkMatmulLike(linalg::LinalgOp op, Type lowElt) {
    if (isPinnedF32(op))
      return success();
    for (OpOperand *input : op.getDpsInputOperands()) {
      Type elt = getElementTypeOrSelf(input->get().getType());
      if (isa<FloatType>(elt) && elt != lowElt)
        return op->emitError("amp-check-precision: matmul-like op reads ")
               << elt << " input #" << input->getOperandNumber() << ", expected "
               << lowElt;
    }
    return success();
  }

  LogicalResult checkSensitive(Operation *op) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (linalgOp && linalgOp.getNumReductionLoops() > 0 && linalgOp.getBlock()) {
      Operation *terminator = linalgOp.getBlock()->getTerminator();
      for (Value yielded : terminator->getOperands()) {
        // Look through the narrowing of a payload that computes in f32.
        if (auto trunc = yielded.getDefiningOp<arith::TruncFOp>())
          yielded = trunc.getIn();
        Operation *combiner = yielded.getDefiningOp();
        if (isa_and_nonnull<arith::AddFOp, arith::SubFOp, arith::MulFOp>(combiner) &&
            !combiner->getResult(0).getType().isF32() &&
            !linalg::isaContractionOpInterface(linalgOp) &&
            !linalg::isaConvolutionOpInterface(linalgOp, false))
          return op->emitError("amp-check-precision: sum/product reduction "
                               "accumulates in ")
                 << combiner->getResult(0).getType() << ", expected f32";
        if (isa_and_nonnull<arith::AddFOp, arith::SubFOp, arith::MulFOp>(combiner))
          for (Value init : linalgOp.getDpsInits())
            if (!getElementTypeOrSelf(init.getType()).isF32())
              return op->emitError("amp-check-precision: sum/product reduction "
                                   "stores its accumulator in ")
                     << getElementTypeOrSelf(init.getType()) << ", expected f32";
      }
    }
    WalkResult result = op->walk([&](Operation *inner) {
      if (!isa<math::ExpOp, math::LogOp, math::Log1pOp, math::ExpM1Op>(inner))
        return WalkResult::advance();
      Type elt = getElementTypeOrSelf(inner->getOperand(0).getType());
      if (elt.isF32())
        return WalkResult::advance();
      op->emitError("amp-check-precision: '")
          << inner->getName() << "' computes in " << elt << ", expected f32";
      return WalkResult::interrupt();
    });
    return failure(result.wasInterrupted());
  }

  void runOnOperation() override {
    Type lowElt = amp::getFloatType(&getContext(), computeType);
    FailureOr<PrecisionPolicy> policy = loadPolicy(getOperation()->getLoc(), policyFile);
    if (failed(policy))
      return signalPassFailure();
    bool ok = true;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (linalgOp) {
        ++numChecked;
        if (policy->classify(op).opClass == OpClass::Allow)
          ok &= succeeded(checkMatmulLike(linalgOp, lowElt));
        else
          ok &= succeeded(checkSensitive(op));
        return WalkResult::skip();
      }
      if (isa<math::ExpOp, math::LogOp, math::Log1pOp, math::ExpM1Op>(op)) {
        ++numChecked;
        ok &= succeeded(checkSensitive(op));
      }
      return WalkResult::advance();
    });
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
