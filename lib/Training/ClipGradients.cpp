//===- ClipGradients.cpp - the amp-clip-gradients pass ----------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"

#include <cmath>

namespace ampc {
#define GEN_PASS_DEF_AMPCLIPGRADIENTS
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

namespace {
struct ClipGradientsPass : public ampc::impl::AMPClipGradientsBase<ClipGradientsPass> {
  using AMPClipGradientsBase::AMPClipGradientsBase;

  LogicalResult clipStep(TrainingStep &step);

  void runOnOperation() override {
    if (maxNorm == 0.0 && maxValue == 0.0)
      return markAllAnalysesPreserved();
    if (!(maxNorm >= 0) || std::isinf(maxNorm) || !(maxValue >= 0) || std::isinf(maxValue) ||
        (normType != 1.0 && normType != 2.0 && !(std::isinf(normType) && normType > 0))) {
      emitError(getOperation().getLoc())
          << "amp-clip-gradients: invalid options: needs finite max-norm >= 0 and max-value >= "
             "0 (0: off) and norm-type 2, 1 or inf";
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!isTrainingStep(func))
        continue;
      FailureOr<TrainingStep> step = verifyTrainingStep(func);
      if (failed(step) || failed(clipStep(*step)))
        return signalPassFailure();
    }
  }
};
} // namespace

LogicalResult ClipGradientsPass::clipStep(TrainingStep &step) {
  if (step.optimizers.empty())
    return success();
  bool clipped = false;
  step.func.walk([&](Operation *op) {
    clipped |= isa<amp::ClipGradNormOp, amp::ClipGradValueOp>(op);
  });
  if (clipped)
    return step.func.emitError("amp-clip-gradients: this training step is already clipped");
  OpBuilder b(step.func.getContext());
  if (maxValue > 0)
    for (Operation *opt : step.optimizers) {
      OpOperand &grad = getOptimizerGrad(opt);
      b.setInsertionPoint(opt);
      grad.set(amp::ClipGradValueOp::create(b, opt->getLoc(), grad.get().getType(), grad.get(),
                                            b.getF64FloatAttr(maxValue)));
    }
  if (maxNorm == 0.0)
    return success();

  // The global norm needs every gradient: it goes after the last one is
  // computed, and optimizer ops placed earlier move after it.
  SmallVector<Value> grads;
  SmallVector<Type> types;
  Block &body = step.func.getBody().front();
  Operation *lastDef = nullptr;
  for (Operation *opt : step.optimizers) {
    grads.push_back(getOptimizerGrad(opt).get());
    types.push_back(grads.back().getType());
    Operation *def = grads.back().getDefiningOp();
    if (def && (!lastDef || lastDef->isBeforeInBlock(def)))
      lastDef = def;
  }
  types.push_back(RankedTensorType::get({}, b.getF32Type()));
  if (lastDef)
    b.setInsertionPointAfter(lastDef);
  else
    b.setInsertionPointToStart(&body);
  Location loc = step.optimizers.front()->getLoc();
  auto clip = amp::ClipGradNormOp::create(b, loc, types, grads, b.getF64FloatAttr(maxNorm),
                                          b.getF64FloatAttr(normType));
  Operation *anchor = clip;
  for (Operation *opt : step.optimizers) {
    if (!opt->isBeforeInBlock(clip))
      continue;
    for (Operation *user : opt->getUsers())
      if (Operation *inBody = body.findAncestorOpInBlock(*user);
          inBody && inBody != opt && inBody->isBeforeInBlock(clip))
        return opt->emitError("amp-clip-gradients: this optimizer's update is used before the "
                              "last gradient of the step is computed; the global norm needs "
                              "them all first");
    opt->moveAfter(anchor);
    anchor = opt;
  }
  for (auto [opt, clippedGrad] : llvm::zip(step.optimizers, clip.getClipped()))
    getOptimizerGrad(opt).set(clippedGrad);
  Value norm = clip.getTotalNorm();

  // Under loss scaling, a non-finite norm (it can overflow with finite
  // gradients) skips the step too.
  step.func.walk([&](amp::AllFiniteOp check) { check.getInputsMutable().append(norm); });
  // The all_finite check sits before the return; the norm must dominate it.
  if (reportNorm) {
    unsigned index = step.lossResult;
    (void)step.func.insertResult(index, norm.getType(),
                                 getRoleAttrDict(step.func.getContext(), Role::grad_norm));
    step.ret->insertOperands(index, ValueRange{norm});
    ++step.lossResult;
  }
  return success();
}
