//===- TrainingStep.cpp - reading the training-step contract ----------------===//

#include "ampc/Training/TrainingStep.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace ampc;
using amp::Role;

bool ampc::isTrainingStep(func::FuncOp func) {
  return func->hasAttr(amp::AMPDialect::kTrainingStepAttrName);
}

OpOperand &ampc::getOptimizerGrad(Operation *optimizer) {
  // Every optimizer op takes (param, grad, ...).
  return optimizer->getOpOperand(1);
}

Value ampc::getOptimizerParam(Operation *optimizer) { return optimizer->getOperand(0); }

SmallVector<std::pair<Value, Value>> ampc::getOptimizerUpdates(Operation *optimizer) {
  SmallVector<std::pair<Value, Value>> updates;
  updates.push_back({optimizer->getOperand(0), optimizer->getResult(0)});
  // The state operands follow the gradient and pair with results 1.. in order.
  for (unsigned i = 1, e = optimizer->getNumResults(); i < e; ++i)
    updates.push_back({optimizer->getOperand(i + 1), optimizer->getResult(i)});
  return updates;
}

SmallVector<Operation *> ampc::collectOptimizers(func::FuncOp func) {
  SmallVector<Operation *> optimizers;
  func.walk([&](Operation *op) {
    if (isa<amp::SGDOp, amp::AdamOp, amp::AdamWOp>(op))
      optimizers.push_back(op);
  });
  return optimizers;
}

DictionaryAttr ampc::getRoleAttrDict(MLIRContext *context, Role role) {
  return DictionaryAttr::get(
      context, {NamedAttribute(StringAttr::get(context, amp::AMPDialect::kRoleAttrName),
                               StringAttr::get(context, amp::stringifyRole(role)))});
}

static bool isF32Tensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getElementType().isF32();
}

FailureOr<TrainingStep> ampc::verifyTrainingStep(func::FuncOp func) {
  TrainingStep step;
  step.func = func;
  bool ok = true;
  if (func.isDeclaration())
    return func.emitError("training step '") << func.getSymName() << "' has no body";
  step.ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  Block &entry = func.getBody().front();

  // Roles on every argument and result.
  SmallVector<BlockArgument> stateArgs;
  DenseMap<StringAttr, unsigned> names;
  for (BlockArgument arg : entry.getArguments()) {
    std::optional<Role> role = amp::getArgumentRole(func, arg.getArgNumber());
    if (!role) {
      emitError(arg.getLoc()) << "training step argument #" << arg.getArgNumber()
                              << " has no 'amp.role'";
      ok = false;
      continue;
    }
    if (*role == Role::param && !isF32Tensor(arg.getType())) {
      emitError(arg.getLoc()) << "param argument #" << arg.getArgNumber()
                              << " must be an f32 tensor (the f32 master weight), got "
                              << arg.getType();
      ok = false;
    }
    if (*role == Role::hyperparameter) {
      if (arg.getType() != RankedTensorType::get({}, Float64Type::get(func.getContext()))) {
        emitError(arg.getLoc()) << "hyperparameter argument #" << arg.getArgNumber()
                                << " must be a tensor<f64>, got " << arg.getType();
        ok = false;
      } else if (!func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                     amp::AMPDialect::kNameAttrName) ||
                 !func.getArgAttrOfType<FloatAttr>(arg.getArgNumber(),
                                                    amp::AMPDialect::kInitAttrName)) {
        // A caller needs both: which knob it is, and its value until set.
        emitError(arg.getLoc()) << "hyperparameter argument #" << arg.getArgNumber()
                                << " needs 'amp.name' and a float 'amp.init'";
        ok = false;
      }
    }
    // Names key checkpoints and hyperparameters: one argument per name.
    if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                      amp::AMPDialect::kNameAttrName)) {
      auto [it, inserted] = names.try_emplace(name, arg.getArgNumber());
      if (!inserted) {
        emitError(arg.getLoc()) << "argument #" << arg.getArgNumber() << " has the 'amp.name' '"
                                << name.getValue() << "' of argument #" << it->second
                                << "; names must be unique";
        ok = false;
      }
    }
    if (amp::isMutableRole(*role))
      stateArgs.push_back(arg);
  }
  SmallVector<unsigned> stateResults;
  std::optional<unsigned> lossResult;
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    std::optional<Role> role = amp::getResultRole(func, i);
    if (!role) {
      func.emitError() << "training step result #" << i << " has no 'amp.role'";
      ok = false;
    } else if (*role == Role::loss) {
      if (lossResult) {
        func.emitError() << "training step has more than one loss result (#"
                         << *lossResult << " and #" << i << ")";
        ok = false;
      }
      lossResult = i;
    } else if (*role == Role::found_inf || *role == Role::grad_norm) {
      // Reports of the step, not state.
      MLIRContext *ctx = func.getContext();
      Type expected = RankedTensorType::get(
          {}, *role == Role::found_inf ? Type(IntegerType::get(ctx, 1)) : Float32Type::get(ctx));
      if (func.getResultTypes()[i] != expected) {
        func.emitError() << amp::stringifyRole(*role) << " result #" << i << " must be a "
                         << expected << ", got " << func.getResultTypes()[i];
        ok = false;
      }
    } else {
      stateResults.push_back(i);
    }
  }
  if (!ok)
    return failure();
  if (!lossResult || *lossResult != func.getNumResults() - 1)
    return func.emitError("training step must return its loss last, with "
                          "{amp.role = \"loss\"}");
  step.lossResult = *lossResult;
  Type lossType = func.getResultTypes()[*lossResult];
  if (!lossType.isF32() && lossType != RankedTensorType::get({}, Float32Type::get(func.getContext())))
    return func.emitError("training step loss must be f32 or tensor<f32>, got ") << lossType;

  // Updated state comes back in argument order.
  if (stateArgs.size() != stateResults.size())
    return func.emitError("training step takes ")
           << stateArgs.size() << " state arguments (param, optimizer_state, "
           << "scaler_state, param_copy) but returns " << stateResults.size();
  for (auto [arg, resultIndex] : llvm::zip(stateArgs, stateResults)) {
    std::optional<Role> argRole = amp::getArgumentRole(func, arg.getArgNumber());
    std::optional<Role> resultRole = amp::getResultRole(func, resultIndex);
    if (argRole != resultRole || arg.getType() != func.getResultTypes()[resultIndex]) {
      func.emitError() << "result #" << resultIndex << " ("
                       << amp::stringifyRole(*resultRole) << ", "
                       << func.getResultTypes()[resultIndex]
                       << ") must be the updated state argument #" << arg.getArgNumber()
                       << " (" << amp::stringifyRole(*argRole) << ", " << arg.getType() << ")";
      ok = false;
    }
  }
  if (!ok)
    return failure();

  // The gradient seed.
  SmallVector<amp::GradSeedOp> seeds;
  func.walk([&](amp::GradSeedOp seed) { seeds.push_back(seed); });
  step.optimizers = collectOptimizers(func);
  if (seeds.size() != 1)
    return func.emitError("training step must have exactly one amp.grad_seed, found ")
           << seeds.size();
  step.seed = seeds.front();
  Value loss = step.ret.getOperand(*lossResult);
  if (step.seed.getLoss() != loss)
    return step.seed.emitError("amp.grad_seed must seed the returned loss");

  // Every param is updated by exactly one optimizer op, from a gradient that
  // comes from the seed, and the update is returned in its place.
  // What depends on the seed: its forward slice, including the ops whose
  // regions read a dependent value (a loop accumulating a gradient).
  llvm::SetVector<Operation *> backward;
  SmallVector<Operation *> roots = {step.seed.getOperation()};
  while (!roots.empty()) {
    Operation *root = roots.pop_back_val();
    llvm::SetVector<Operation *> slice;
    getForwardSlice(root, &slice);
    for (Operation *op : slice) {
      if (!backward.insert(op))
        continue;
      for (Operation *parent = op->getParentOp(); parent && parent != func.getOperation();
           parent = parent->getParentOp())
        if (!backward.contains(parent) && !llvm::is_contained(roots, parent))
          roots.push_back(parent), backward.insert(parent);
    }
  }
  DenseMap<Value, unsigned> resultOfState;
  for (auto [arg, resultIndex] : llvm::zip(stateArgs, stateResults))
    resultOfState[arg] = resultIndex;
  DenseMap<Value, Operation *> updater;
  for (Operation *opt : step.optimizers) {
    Value grad = getOptimizerGrad(opt).get();
    Operation *gradDef = grad.getDefiningOp();
    if (!gradDef || !backward.contains(gradDef)) {
      opt->emitError("the gradient of this optimizer op does not come from the "
                     "amp.grad_seed");
      ok = false;
    }
    for (auto [old, updated] : getOptimizerUpdates(opt)) {
      auto arg = dyn_cast<BlockArgument>(old);
      std::optional<Role> role =
          arg && arg.getOwner() == &entry ? amp::getArgumentRole(func, arg.getArgNumber())
                                          : std::nullopt;
      bool isParam = updated == opt->getResult(0);
      Role expected = isParam ? Role::param : Role::optimizer_state;
      if (role != expected) {
        opt->emitError() << "optimizer op must update a " << amp::stringifyRole(expected)
                         << " argument of the training step";
        ok = false;
        continue;
      }
      if (auto [it, inserted] = updater.try_emplace(old, opt); !inserted) {
        opt->emitError() << "argument #" << arg.getArgNumber()
                         << " is already updated by another optimizer op";
        ok = false;
        continue;
      }
      // A step that loss scaling made skippable returns select(ok, new, old).
      Value returned = step.ret.getOperand(resultOfState[old]);
      if (auto select = returned.getDefiningOp<arith::SelectOp>())
        if (select.getFalseValue() == old)
          returned = select.getTrueValue();
      if (returned != updated) {
        opt->emitError() << "the updated " << amp::stringifyRole(expected)
                         << " must be returned as result #" << resultOfState[old];
        ok = false;
      }
    }
  }
  for (BlockArgument arg : stateArgs)
    if (amp::getArgumentRole(func, arg.getArgNumber()) == Role::param && !updater.count(arg)) {
      emitError(arg.getLoc()) << "param argument #" << arg.getArgNumber()
                              << " is not updated by any optimizer op";
      ok = false;
    }
  if (!ok)
    return failure();
  return step;
}

BlockArgument ampc::addStateArgument(TrainingStep &step, Type type, Role role,
                                     Location loc) {
  func::FuncOp func = step.func;
  DictionaryAttr roleAttrs = getRoleAttrDict(func.getContext(), role);
  unsigned argIndex = func.getNumArguments();
  (void)func.insertArgument(argIndex, type, roleAttrs, loc);
  // After the last state result, before the reports (found_inf) and the loss.
  unsigned resultIndex = 0;
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
    if (std::optional<Role> role = amp::getResultRole(func, i); role && amp::isMutableRole(*role))
      resultIndex = i + 1;
  (void)func.insertResult(resultIndex, type, roleAttrs);
  BlockArgument arg = func.getArgument(argIndex);
  // Return the argument unchanged until a pass sets the updated value.
  step.ret->insertOperands(resultIndex, ValueRange{arg});
  ++step.lossResult;
  return arg;
}

void ampc::setStateResult(TrainingStep &step, BlockArgument arg, Value value) {
  func::FuncOp func = step.func;
  unsigned stateIndex = 0;
  for (BlockArgument a : func.getArguments()) {
    if (a == arg)
      break;
    if (std::optional<Role> role = amp::getArgumentRole(func, a.getArgNumber()))
      if (amp::isMutableRole(*role))
        ++stateIndex;
  }
  unsigned seen = 0;
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    std::optional<Role> role = amp::getResultRole(func, i);
    if (!role || !amp::isMutableRole(*role))
      continue;
    if (seen++ == stateIndex) {
      step.ret.setOperand(i, value);
      return;
    }
  }
  llvm_unreachable("state argument without a result");
}

/// The gradient an optimizer op receives before clipping and unscaling.
OpOperand &ampc::getRawOptimizerGrad(Operation *optimizer) {
  OpOperand *grad = &getOptimizerGrad(optimizer);
  if (auto clip = grad->get().getDefiningOp<amp::ClipGradNormOp>())
    grad = &clip.getGradsMutable()[cast<OpResult>(grad->get()).getResultNumber()];
  if (auto clip = grad->get().getDefiningOp<amp::ClipGradValueOp>())
    grad = &clip.getGradMutable();
  if (auto unscale = grad->get().getDefiningOp<amp::UnscaleOp>())
    grad = &unscale.getGradMutable();
  return *grad;
}
