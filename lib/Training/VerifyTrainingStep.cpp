//===- VerifyTrainingStep.cpp - the amp-verify-training-step pass -----------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPVERIFYTRAININGSTEP
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {
struct VerifyTrainingStepPass
    : public ampc::impl::AMPVerifyTrainingStepBase<VerifyTrainingStepPass> {
  void runOnOperation() override {
    bool ok = true;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (isTrainingStep(func))
        ok &= succeeded(verifyTrainingStep(func));
    if (!ok)
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};
} // namespace
