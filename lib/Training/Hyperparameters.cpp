//===- Hyperparameters.cpp - the amp-hyperparameters pass -------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Format.h"

namespace ampc {
#define GEN_PASS_DEF_AMPHYPERPARAMETERS
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

namespace {
/// Where an optimizer op keeps one hyperparameter: its run-time operand and
/// its compiled value.
struct HyperparameterSlot {
  MutableOperandRange operand;
  double value;
};

template <typename AdamOp>
static std::optional<HyperparameterSlot> getAdamSlot(AdamOp op, StringRef name) {
  if (name == "lr")
    return HyperparameterSlot{op.getLrInputMutable(), op.getLr().convertToDouble()};
  if (name == "beta1")
    return HyperparameterSlot{op.getBeta1InputMutable(), op.getBeta1().convertToDouble()};
  if (name == "beta2")
    return HyperparameterSlot{op.getBeta2InputMutable(), op.getBeta2().convertToDouble()};
  if (name == "eps")
    return HyperparameterSlot{op.getEpsInputMutable(), op.getEps().convertToDouble()};
  if (name == "weight_decay")
    return HyperparameterSlot{op.getWeightDecayInputMutable(),
                              op.getWeightDecay().convertToDouble()};
  return std::nullopt;
}

static std::optional<HyperparameterSlot> getSlot(Operation *optimizer, StringRef name) {
  if (auto sgd = dyn_cast<amp::SGDOp>(optimizer)) {
    if (name == "lr")
      return HyperparameterSlot{sgd.getLrInputMutable(), sgd.getLr().convertToDouble()};
    if (name == "momentum")
      return HyperparameterSlot{sgd.getMomentumInputMutable(), sgd.getMomentum().convertToDouble()};
    if (name == "weight_decay")
      return HyperparameterSlot{sgd.getWeightDecayInputMutable(),
                                sgd.getWeightDecay().convertToDouble()};
    return std::nullopt;
  }
  if (auto adam = dyn_cast<amp::AdamOp>(optimizer))
    return getAdamSlot(adam, name);
  if (auto adamw = dyn_cast<amp::AdamWOp>(optimizer))
    return getAdamSlot(adamw, name);
  return std::nullopt;
}

/// 0.01, not 1.000000e-02, as the user wrote it.
static std::string formatNumber(double value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format("%g", value);
  return text;
}

constexpr StringLiteral kNames[] = {"lr", "weight_decay", "momentum", "beta1", "beta2", "eps"};

struct HyperparametersPass : public ampc::impl::AMPHyperparametersBase<HyperparametersPass> {
  using AMPHyperparametersBase::AMPHyperparametersBase;

  LogicalResult addInput(TrainingStep &step, StringRef name);

  void runOnOperation() override {
    SmallVector<std::string> names;
    for (const std::string &raw : inputs) {
      // The CLI's spelling of option names (weight-decay) is accepted too.
      std::string name = StringRef(raw).trim().str();
      std::replace(name.begin(), name.end(), '-', '_');
      if (!llvm::is_contained(kNames, name)) {
        emitError(getOperation().getLoc())
            << "amp-hyperparameters: unknown hyperparameter '" << raw
            << "'; expected lr, weight_decay, momentum, beta1, beta2 or eps";
        return signalPassFailure();
      }
      if (!llvm::is_contained(names, name))
        names.push_back(name);
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!isTrainingStep(func))
        continue;
      FailureOr<TrainingStep> step = verifyTrainingStep(func);
      if (failed(step))
        return signalPassFailure();
      for (StringRef name : names)
        if (failed(addInput(*step, name)))
          return signalPassFailure();
    }
  }
};
} // namespace

LogicalResult HyperparametersPass::addInput(TrainingStep &step, StringRef name) {
  func::FuncOp func = step.func;
  if (step.optimizers.empty())
    return success();
  // One value for the whole step: a schedule sets one lr.
  Operation *first = nullptr;
  double value = 0;
  for (Operation *opt : step.optimizers) {
    std::optional<HyperparameterSlot> slot = getSlot(opt, name);
    if (!slot)
      continue;
    if (auto sgd = dyn_cast<amp::SGDOp>(opt); sgd && name == "momentum" && slot->value == 0.0)
      return opt->emitError("amp-hyperparameters: this amp.sgd has no momentum (momentum = 0 "
                            "when it was built), so it has no buffer for a run-time momentum "
                            "to weight; build it with momentum > 0 to schedule momentum");
    if (!first) {
      first = opt;
      value = slot->value;
    } else if (slot->value != value && keepDisagreeing) {
      InFlightDiagnostic diag = opt->emitWarning()
                                << "amp-hyperparameters: optimizer ops disagree on " << name
                                << " (" << formatNumber(slot->value) << " here, "
                                << formatNumber(value) << " at the first one): " << name
                                << " stays compiled in";
      diag.attachNote(first->getLoc()) << "the first optimizer op with " << name;
      return success();
    } else if (slot->value != value) {
      InFlightDiagnostic diag = opt->emitError()
                                << "amp-hyperparameters: optimizer ops disagree on " << name
                                << " (" << formatNumber(slot->value) << " here, "
                                << formatNumber(value)
                                << " at the first one): a run-time " << name
                                << " is one value per step";
      diag.attachNote(first->getLoc()) << "the first optimizer op with " << name;
      return failure();
    }
  }
  if (!first)
    return step.optimizers.front()->emitError()
           << "amp-hyperparameters: '" << name << "' is not a hyperparameter of the step's "
           << "optimizer (" << step.optimizers.front()->getName() << ")";

  // Reuse the input an optimizer op already reads, or the step's input of
  // that name, so that running the pass twice changes nothing.
  MLIRContext *ctx = func.getContext();
  BlockArgument input;
  for (Operation *opt : step.optimizers)
    if (std::optional<HyperparameterSlot> slot = getSlot(opt, name); slot && !slot->operand.empty())
      if (auto arg = dyn_cast<BlockArgument>(slot->operand[0].get()))
        if (!input && arg.getOwner() == &func.getBody().front())
          input = arg;
  for (BlockArgument arg : func.getArguments())
    if (amp::getArgumentRole(func, arg.getArgNumber()) == Role::hyperparameter)
      if (auto argName = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                           amp::AMPDialect::kNameAttrName);
          argName && argName.getValue() == name && !input)
        input = arg;
  if (!input) {
    Builder b(ctx);
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr(amp::AMPDialect::kRoleAttrName,
                       b.getStringAttr(amp::stringifyRole(Role::hyperparameter))),
        b.getNamedAttr(amp::AMPDialect::kNameAttrName, b.getStringAttr(name)),
        b.getNamedAttr(amp::AMPDialect::kInitAttrName, b.getF64FloatAttr(value))};
    unsigned index = func.getNumArguments();
    (void)func.insertArgument(index, RankedTensorType::get({}, b.getF64Type()),
                              b.getDictionaryAttr(attrs), first->getLoc());
    input = func.getArgument(index);
  }
  for (Operation *opt : step.optimizers)
    if (std::optional<HyperparameterSlot> slot = getSlot(opt, name); slot && slot->operand.empty())
      slot->operand.assign(input);
  return success();
}
