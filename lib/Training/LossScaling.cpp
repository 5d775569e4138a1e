//===- LossScaling.cpp - the amp-loss-scaling pass --------------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"

#include <cfloat>
#include <cmath>

namespace ampc {
#define GEN_PASS_DEF_AMPLOSSSCALING
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

namespace {
struct LossScalingPass : public ampc::impl::AMPLossScalingBase<LossScalingPass> {
  using AMPLossScalingBase::AMPLossScalingBase;

  LogicalResult scaleStep(TrainingStep &step);

  void runOnOperation() override {
    if (mode == LossScalingMode::None)
      return markAllAnalysesPreserved();
    // Scales are f32 values: finite ones that f32 holds.
    auto finiteF32 = [](double v) { return std::isfinite(v) && std::fabs(v) <= FLT_MAX; };
    if (!(scale > 0) || !(initScale > 0) || !(growthFactor > 1) ||
        !(backoffFactor > 0 && backoffFactor < 1) || growthInterval <= 0 ||
        !(minScale >= 0) || !(maxScale >= 0) || (maxScale > 0 && maxScale < minScale) ||
        !finiteF32(scale) || !finiteF32(initScale) || !finiteF32(growthFactor) ||
        !finiteF32(minScale) || !finiteF32(maxScale)) {
      emitError(getOperation().getLoc())
          << "amp-loss-scaling: invalid options: needs scale > 0, init-scale > 0, "
             "growth-factor > 1, 0 < backoff-factor < 1, growth-interval > 0, "
             "0 <= min-scale <= max-scale (0: no clamp), all finite in f32";
      return signalPassFailure();
    }
    bool found = false;
    for (auto func : llvm::make_early_inc_range(getOperation().getOps<func::FuncOp>())) {
      if (!isTrainingStep(func))
        continue;
      found = true;
      FailureOr<TrainingStep> step = verifyTrainingStep(func);
      if (failed(step) || failed(scaleStep(*step)))
        return signalPassFailure();
    }
    if (!found && warnWithoutStep)
      getOperation().emitWarning("amp-loss-scaling: no function marked "
                                 "amp.training_step; nothing to scale");
  }
};
} // namespace

LogicalResult LossScalingPass::scaleStep(TrainingStep &step) {
  func::FuncOp func = step.func;
  WalkResult scaled = func.walk([](Operation *op) {
    if (isa<amp::UnscaleOp>(op)) {
      op->emitError("amp-loss-scaling: this training step is already loss-scaled");
      return WalkResult::interrupt();
    }
    // Clipping reads unscaled gradients; clipping the scaled ones would
    // divide max_norm by the scale.
    if (isa<amp::ClipGradNormOp, amp::ClipGradValueOp>(op)) {
      op->emitError("amp-loss-scaling: this training step is already clipped; run "
                    "amp-clip-gradients after amp-loss-scaling, which clips the unscaled "
                    "gradients");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (scaled.wasInterrupted())
    return failure();
  MLIRContext *ctx = func.getContext();
  Location loc = step.seed.getLoc();
  OpBuilder b(ctx);
  auto scaleType = RankedTensorType::get({}, Float32Type::get(ctx));
  auto trackerType = RankedTensorType::get({}, IntegerType::get(ctx, 32));

  // Where the scale comes from.
  Value scaleValue;
  BlockArgument scaleArg, trackerArg;
  if (mode == LossScalingMode::Dynamic) {
    scaleArg = addStateArgument(step, scaleType, Role::scaler_state, loc);
    trackerArg = addStateArgument(step, trackerType, Role::scaler_state, loc);
    func.setArgAttr(scaleArg.getArgNumber(), amp::AMPDialect::kInitAttrName,
                    b.getF32FloatAttr(static_cast<float>(initScale)));
    func.setArgAttr(trackerArg.getArgNumber(), amp::AMPDialect::kInitAttrName,
                    b.getI32IntegerAttr(0));
    // GradScaler's state_dict names.
    func.setArgAttr(scaleArg.getArgNumber(), amp::AMPDialect::kNameAttrName,
                    b.getStringAttr("scale"));
    func.setArgAttr(trackerArg.getArgNumber(), amp::AMPDialect::kNameAttrName,
                    b.getStringAttr("growth_tracker"));
    scaleValue = scaleArg;
  } else {
    b.setInsertionPointToStart(&func.getBody().front());
    scaleValue = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scaleType, static_cast<float>(scale)));
  }

  // Seed the backward with S instead of 1.
  b.setInsertionPointAfter(step.seed);
  Value seed = step.seed.getResult();
  Value factor = scaleValue;
  if (!isa<ShapedType>(seed.getType()))
    factor = tensor::ExtractOp::create(b, loc, scaleValue, ValueRange{});
  auto scaledSeed = arith::MulFOp::create(b, loc, seed, factor);
  seed.replaceAllUsesExcept(scaledSeed, scaledSeed);

  // Unscale every gradient before its optimizer.
  SmallVector<Value> grads;
  for (Operation *opt : step.optimizers) {
    OpOperand &grad = getOptimizerGrad(opt);
    b.setInsertionPoint(opt);
    Value unscaled = amp::UnscaleOp::create(b, opt->getLoc(), grad.get().getType(),
                                            grad.get(), scaleValue);
    grad.set(unscaled);
    grads.push_back(unscaled);
  }
  if (grads.empty())
    return success();

  // One finiteness check; a non-finite step returns all state unchanged.
  b.setInsertionPoint(step.ret);
  Value allFinite = amp::AllFiniteOp::create(
      b, loc, RankedTensorType::get({}, b.getI1Type()), grads);
  Value ok = tensor::ExtractOp::create(b, loc, allFinite, ValueRange{});
  SmallVector<BlockArgument> stateArgs;
  for (BlockArgument arg : func.getArguments())
    if (std::optional<Role> role = amp::getArgumentRole(func, arg.getArgNumber()))
      if (amp::isMutableRole(*role) && *role != Role::scaler_state)
        stateArgs.push_back(arg);
  unsigned stateIndex = 0;
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    std::optional<Role> role = amp::getResultRole(func, i);
    if (!role || !amp::isMutableRole(*role) || *role == Role::scaler_state)
      continue;
    // State results come in argument order, scaler state after the rest.
    BlockArgument old = stateArgs[stateIndex++];
    Value updated = step.ret.getOperand(i);
    step.ret.setOperand(i, arith::SelectOp::create(b, loc, ok, updated, old));
  }

  // The step reports whether it was skipped (GradScaler's found_inf), so
  // that reading it costs no extra pass over the gradients.
  if (reportFoundInf) {
    Value trueValue = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
    Value foundInf = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getI1Type()),
        ValueRange{arith::XOrIOp::create(b, loc, ok, trueValue)});
    unsigned foundInfIndex = step.lossResult;
    (void)func.insertResult(foundInfIndex, foundInf.getType(),
                            getRoleAttrDict(ctx, Role::found_inf));
    step.ret->insertOperands(foundInfIndex, ValueRange{foundInf});
    ++step.lossResult;
  }

  if (mode == LossScalingMode::Dynamic) {
    auto update = amp::UpdateScaleOp::create(
        b, loc, scaleType, trackerType, scaleArg, trackerArg, allFinite,
        b.getF64FloatAttr(growthFactor),
        b.getF64FloatAttr(backoffFactor), b.getI64IntegerAttr(growthInterval),
        b.getF64FloatAttr(minScale),
        b.getF64FloatAttr(maxScale > 0 ? maxScale : std::numeric_limits<double>::infinity()));
    setStateResult(step, scaleArg, update.getNewScale());
    setStateResult(step, trackerArg, update.getNewGrowthTracker());
  }
  return success();
}
