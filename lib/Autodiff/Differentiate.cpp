//===- Differentiate.cpp - the amp-differentiate pass ----------------------===//
//
// Builds `@f_train_step` from a forward function `@f`: params (hoisted
// constants or chosen arguments), the appended loss, the gradient seed, the
// backward from emitReverseMode (Autodiff.cpp) and one optimizer op per
// param, in the training-step contract. `@f` itself is left as it was, so a
// module keeps its inference entry point and its harness.
//
//===----------------------------------------------------------------------===//

#include "ampc/Autodiff/Autodiff.h"
#include "ampc/Autodiff/Passes.h"
#include "ampc/Training/TrainingStep.h"
#include "ampc/Utils/LinalgBuilders.h"

#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"

namespace ampc {
#define GEN_PASS_DEF_AMPDIFFERENTIATE
#include "ampc/Autodiff/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

namespace {

/// The appended loss, and where the backward starts: `target` with adjoint
/// `adjoint` (the seed itself, or d loss / d output in closed form).
struct LossParts {
  Value loss, target, adjoint;
};

/// Appends an argument with `attrs` to `func`; returns it.
BlockArgument appendArgument(func::FuncOp func, Type type, DictionaryAttr attrs, Location loc) {
  (void)func.insertArgument(func.getNumArguments(), type, attrs, loc);
  return func.getArgument(func.getNumArguments() - 1);
}

/// What building the step leaves to do: the hoisted constants (for the
/// initial-params function) and the forward's size (for the statistics).
struct BuiltStep {
  SmallVector<arith::ConstantOp> hoisted;
  size_t forwardOps = 0;
};

struct AMPDifferentiatePass : ampc::impl::AMPDifferentiateBase<AMPDifferentiatePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  FailureOr<func::FuncOp> findForward();
  /// Turns `step`, a copy of `forward`, into the training step. On failure
  /// (after a located error) the caller erases it.
  FailureOr<BuiltStep> buildStep(func::FuncOp forward, func::FuncOp step);
  /// The loss (a tensor<f32>) and its seed, before the return.
  FailureOr<LossParts> buildLoss(OpBuilder &b, func::FuncOp step, Value output);
  FailureOr<SmallVector<Value>> buildOptimizer(OpBuilder &b, func::FuncOp step, Value param,
                                               Value grad);
};

FailureOr<func::FuncOp> AMPDifferentiatePass::findForward() {
  ModuleOp module = getOperation();
  if (!function.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isDeclaration())
      return module.emitError() << "amp-differentiate: no function @" << function
                                << " with a body in the module",
             failure();
    return func;
  }
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isDeclaration() && func.isPublic() && func.getNumResults() > 0 &&
        !func->hasAttr(amp::AMPDialect::kTrainingStepAttrName))
      candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  InFlightDiagnostic diag = module.emitError()
                            << "amp-differentiate: " << candidates.size()
                            << " public functions with results";
  for (func::FuncOp func : candidates)
    diag << " @" << func.getSymName();
  diag << "; name the forward function with function=NAME";
  return failure();
}

FailureOr<LossParts> AMPDifferentiatePass::buildLoss(OpBuilder &b, func::FuncOp step,
                                                     Value output) {
  Location loc = output.getLoc();
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(output.getType());
  Type f32 = b.getF32Type();
  auto scalar = RankedTensorType::get({}, f32);
  unsigned rank = type.getRank();
  AffineMap all = b.getMultiDimIdentityMap(rank);
  AffineMap none = AffineMap::get(rank, 0, {}, ctx);
  SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
  SmallVector<utils::IteratorType> reduction(rank, utils::IteratorType::reduction);

  if (loss == DifferentiateLoss::None) {
    if (type.getNumElements() != 1)
      return emitError(loc) << "amp-differentiate: loss=none needs a result with one element, "
                               "got "
                            << type << "; append a loss with loss=mse or loss=cross-entropy",
             failure();
    Value lossValue = output;
    if (rank != 0)
      lossValue = tensor::CollapseShapeOp::create(b, loc, scalar, output,
                                                  SmallVector<ReassociationIndices>{});
    Value seed = amp::GradSeedOp::create(b, loc, scalar, lossValue);
    return LossParts{lossValue, lossValue, seed};
  }

  // An empty result has no mean (and a loss over it no meaning).
  if (type.getNumElements() == 0)
    return emitError(loc) << "amp-differentiate: the loss needs a result with elements, got "
                          << type,
           failure();
  Value zeroLoss = filledWithFloat(b, loc, {}, f32, 0.0);
  if (loss == DifferentiateLoss::CrossEntropy && rank == 0)
    return emitError(loc) << "amp-differentiate: loss=cross-entropy needs class scores in the "
                             "last dimension, got "
                          << type,
           failure();
  if (loss == DifferentiateLoss::NLL && rank == 0)
    return emitError(loc) << "amp-differentiate: loss=nll needs log-probabilities in the last "
                             "dimension, got "
                          << type,
           failure();
  SmallVector<int64_t> rowShape(type.getShape().drop_back(rank ? 1 : 0));
  // The label: shaped like the output, or class numbers per row.
  bool indices = loss == DifferentiateLoss::NLL ||
                 (loss == DifferentiateLoss::CrossEntropy && labels == DifferentiateLabels::Indices);
  Type labelType = indices ? RankedTensorType::get(rowShape, b.getI64Type()) : Type(type);
  Value label = appendArgument(step, labelType, getRoleAttrDict(ctx, Role::label), loc);

  if (loss == DifferentiateLoss::MSE) {
    double invCount = 1.0 / static_cast<double>(type.getNumElements());
    Value lossValue = buildGeneric(b, loc, {output, label}, zeroLoss, {all, all, none}, reduction,
                              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                                Value sq = arith::MulFOp::create(nb, l, d, d);
                                Value scaled = arith::MulFOp::create(
                                    nb, l, sq, floatConstant(nb, l, f32, invCount));
                                return arith::AddFOp::create(nb, l, a[2], scaled);
                              });
    Value seed = amp::GradSeedOp::create(b, loc, scalar, lossValue);
    // d/d out = 2 (out - label) / count * seed
    Value dOut = buildGeneric(b, loc, {output, label, seed},
                         tensor::EmptyOp::create(b, loc, type.getShape(), f32), {all, all, none, all},
                         parallel, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                           Value s = arith::MulFOp::create(
                               nb, l, d, floatConstant(nb, l, f32, 2.0 * invCount));
                           return arith::MulFOp::create(nb, l, s, a[2]);
                         });
    return LossParts{lossValue, output, dOut};
  }

  // Softmax cross-entropy over the last dimension, mean over the others.
  // Rows are every dimension but the last (none for a single row of scores,
  // as torch's cross_entropy takes a 1-D input with a 0-d target).
  AffineMap row = AffineMap::get(rank, 0, all.getResults().drop_back(), ctx);
  AffineMap labelMap = indices ? row : all;
  SmallVector<utils::IteratorType> rowReduce(parallel);
  rowReduce.back() = utils::IteratorType::reduction;
  double invRows = 1.0 / static_cast<double>(type.getNumElements() / type.getShape().back());
  // The label's weight of class `c`: its probability, or 1 where c is the
  // row's class number.
  // With label smoothing s, the target is (1 - s) * label + s / classes.
  double smoothing = labelSmoothing;
  double classes = static_cast<double>(type.getShape().back());
  auto labelWeight = [&](OpBuilder &nb, Location l, Value labelElement) -> Value {
    Value weight = labelElement;
    if (indices) {
      Value klass = linalg::IndexOp::create(nb, l, rank - 1);
      Value wanted = arith::IndexCastOp::create(nb, l, nb.getIndexType(), labelElement);
      Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, klass, wanted);
      weight = arith::SelectOp::create(nb, l, hit, floatConstant(nb, l, f32, 1.0),
                                       floatConstant(nb, l, f32, 0.0));
    }
    if (smoothing == 0.0)
      return weight;
    return arith::AddFOp::create(
        nb, l, arith::MulFOp::create(nb, l, weight, floatConstant(nb, l, f32, 1.0 - smoothing)),
        floatConstant(nb, l, f32, smoothing / classes));
  };
  if (loss == DifferentiateLoss::NLL) {
    // loss = -mean over rows of out[row, label[row]]; d/d out = -onehot / rows.
    Value lossValue = buildGeneric(b, loc, {output, label}, zeroLoss, {all, labelMap, none}, reduction,
                              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                Value term = arith::MulFOp::create(nb, l, labelWeight(nb, l, a[1]), a[0]);
                                Value scaled = arith::MulFOp::create(
                                    nb, l, term, floatConstant(nb, l, f32, invRows));
                                return arith::SubFOp::create(nb, l, a[2], scaled);
                              });
    Value seed = amp::GradSeedOp::create(b, loc, scalar, lossValue);
    Value dOut = buildGeneric(b, loc, {label, seed}, tensor::EmptyOp::create(b, loc, type.getShape(), f32),
                         {labelMap, none, all}, parallel,
                         [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           Value w = labelWeight(nb, l, a[0]);
                           Value s = arith::MulFOp::create(nb, l, w, floatConstant(nb, l, f32, -invRows));
                           return arith::MulFOp::create(nb, l, s, a[1]);
                         });
    return LossParts{lossValue, output, dOut};
  }
  Value maxInit = filledWithFloat(b, loc, rowShape, f32, -std::numeric_limits<double>::infinity());
  Value rowMax = buildGeneric(b, loc, {output}, maxInit, {all, row}, rowReduce,
                         [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           return arith::MaximumFOp::create(nb, l, a[0], a[1]);
                         });
  Value exps = buildGeneric(b, loc, {output, rowMax}, tensor::EmptyOp::create(b, loc, type.getShape(), f32),
                       {all, row, all}, parallel,
                       [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         return math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                       });
  Value sums = buildGeneric(b, loc, {exps}, filledWithFloat(b, loc, rowShape, f32, 0.0), {all, row}, rowReduce,
                       [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         return arith::AddFOp::create(nb, l, a[0], a[1]);
                       });
  // loss = -sum(label * (out - max - log(sum))) / rows
  Value lossValue = buildGeneric(
      b, loc, {output, rowMax, sums, label}, zeroLoss, {all, row, row, labelMap, none}, reduction,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value shifted = arith::SubFOp::create(nb, l, a[0], a[1]);
        Value logProb = arith::SubFOp::create(nb, l, shifted, math::LogOp::create(nb, l, a[2]));
        Value term = arith::MulFOp::create(nb, l, labelWeight(nb, l, a[3]), logProb);
        Value scaled = arith::MulFOp::create(nb, l, term, floatConstant(nb, l, f32, invRows));
        return arith::SubFOp::create(nb, l, a[4], scaled);
      });
  Value seed = amp::GradSeedOp::create(b, loc, scalar, lossValue);
  // d/d out = (softmax - label) / rows * seed (labels sum to one per row)
  Value dOut = buildGeneric(
      b, loc, {exps, sums, label, seed}, tensor::EmptyOp::create(b, loc, type.getShape(), f32),
      {all, row, labelMap, none, all}, parallel,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value softmax = arith::DivFOp::create(nb, l, a[0], a[1]);
        Value d = arith::SubFOp::create(nb, l, softmax, labelWeight(nb, l, a[2]));
        Value s = arith::MulFOp::create(nb, l, d, floatConstant(nb, l, f32, invRows));
        return arith::MulFOp::create(nb, l, s, a[3]);
      });
  return LossParts{lossValue, output, dOut};
}

FailureOr<SmallVector<Value>> AMPDifferentiatePass::buildOptimizer(OpBuilder &b, func::FuncOp step,
                                                                   Value param, Value grad) {
  Location loc = param.getLoc();
  MLIRContext *ctx = b.getContext();
  auto type = param.getType();
  auto counterType = RankedTensorType::get({}, b.getI64Type());
  auto addState = [&](Type stateType) {
    return appendArgument(step, stateType, getRoleAttrDict(ctx, Role::optimizer_state), loc);
  };
  auto f64 = [&](double v) { return b.getF64FloatAttr(v); };
  Operation *update;
  // No run-time hyperparameters yet: amp-hyperparameters adds them.
  Value none;
  if (optimizer == DifferentiateOptimizer::SGD) {
    SmallVector<Value> state;
    SmallVector<Type> stateTypes;
    if (momentum != 0.0) {
      state = {addState(type), addState(counterType)};
      stateTypes = {type, counterType};
    }
    update = amp::SGDOp::create(b, loc, type, stateTypes, param, grad, state, none, none, none,
                                f64(lr), f64(momentum), f64(0.0), b.getBoolAttr(nesterov),
                                f64(weightDecay));
  } else {
    Value m = addState(type), v = addState(type), counter = addState(counterType);
    double decay = weightDecay;
    if (optimizer == DifferentiateOptimizer::AdamW && !weightDecay.hasValue())
      decay = 0.01; // torch.optim.AdamW's default
    auto create = [&](auto tag) {
      using AdamOp = decltype(tag);
      return AdamOp::create(b, loc, type, type, type, counterType, param, grad, m, v, counter,
                            none, none, none, none, none, f64(lr), f64(beta1), f64(beta2),
                            f64(eps), f64(decay))
          .getOperation();
    };
    update = optimizer == DifferentiateOptimizer::Adam ? create(amp::AdamOp())
                                                       : create(amp::AdamWOp());
  }
  if (failed(mlir::verify(update)))
    return failure();
  return SmallVector<Value>(update->getResults());
}

FailureOr<BuiltStep> AMPDifferentiatePass::buildStep(func::FuncOp forward, func::FuncOp step) {
  MLIRContext *ctx = &getContext();
  // Elementwise arith/math on tensors becomes linalg, which has the rules.
  OpPassManager elementwise(func::FuncOp::getOperationName());
  elementwise.addPass(createConvertElementwiseToLinalgPass());
  if (failed(runPipeline(elementwise, step)))
    return failure();

  // Aggregate ops (linalg.softmax) become the generics they stand for,
  // which have rules.
  SmallVector<linalg::AggregatedOpInterface> aggregates;
  step.walk([&](linalg::AggregatedOpInterface op) { aggregates.push_back(op); });
  for (linalg::AggregatedOpInterface aggregate : aggregates) {
    OpBuilder builder(aggregate);
    FailureOr<SmallVector<Value>> parts = aggregate.decomposeOperation(builder);
    if (failed(parts)) {
      return aggregate->emitError() << "amp-differentiate: cannot decompose '"
                                    << aggregate->getName() << "'";
    }
    aggregate->replaceAllUsesWith(*parts);
    aggregate->erase();
  }

  Block &body = step.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  BuiltStep built;
  built.forwardOps = body.getOperations().size();
  SmallVector<arith::ConstantOp> &hoisted = built.hoisted;

  // Params: chosen arguments, or hoisted constants.
  SmallVector<Value> params;
  if (this->params == "auto") {
    for (auto constant : llvm::make_early_inc_range(body.getOps<arith::ConstantOp>())) {
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      // One-element constants are the model's scalars (an epsilon, a scale).
      if (!type || type.getNumElements() < 2 || !type.getElementType().isF32())
        continue;
      // All zeros is a buffer or a threshold (ReLU as max(x, zeros)), not a weight.
      auto splat = dyn_cast<SplatElementsAttr>(constant.getValue());
      if (splat && splat.getSplatValue<APFloat>().isZero())
        continue;
      // An init operand (outs) is overwritten or accumulated into, not a weight.
      bool readAsData = llvm::any_of(constant->getUses(), [](OpOperand &use) {
        auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        return !dps || !dps.isDpsInit(&use);
      });
      if (!readAsData)
        continue;
      Value arg = appendArgument(step, type, getRoleAttrDict(ctx, Role::param), constant.getLoc());
      constant.getResult().replaceAllUsesWith(arg);
      params.push_back(arg);
      hoisted.push_back(constant);
      constant->remove();
    }
  } else {
    SmallVector<StringRef> items;
    StringRef(this->params).split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      unsigned index;
      if (item.trim().getAsInteger(10, index) || index >= forward.getNumArguments())
        return forward.emitError() << "amp-differentiate: params=" << this->params
                                   << ": expected 'auto' or argument numbers below "
                                   << forward.getNumArguments() << ", got '" << item << "'";
      BlockArgument arg = step.getArgument(index);
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || !type.getElementType().isF32())
        return forward.emitError() << "amp-differentiate: param argument #" << index
                                   << " must be an f32 tensor, got " << arg.getType();
      step.setArgAttr(index, amp::AMPDialect::kRoleAttrName,
                      StringAttr::get(ctx, amp::stringifyRole(Role::param)));
      params.push_back(arg);
    }
  }
  if (params.empty())
    return forward.emitError("amp-differentiate: no params: the function reads no f32 tensor "
                             "constant; name argument numbers with params=0,1,...");

  // Loss, seed and backward, before the return.
  OpBuilder b(ret);
  Value output = ret.getOperand(result);
  FailureOr<LossParts> lossParts = buildLoss(b, step, output);
  if (failed(lossParts))
    return failure();
  Value lossValue = lossParts->loss;
  FailureOr<SmallVector<Value>> grads =
      emitReverseMode(b, lossParts->target, lossParts->adjoint, params);
  if (failed(grads))
    return failure();

  // Params that do not reach the loss: hoisted ones go back to being
  // constants; named ones are an error, as PyTorch would leave .grad None.
  for (int i = params.size() - 1; i >= 0; --i) {
    if ((*grads)[i])
      continue;
    auto arg = cast<BlockArgument>(params[i]);
    if (hoisted.empty())
      return forward.emitError() << "amp-differentiate: param argument #" << arg.getArgNumber()
                                 << " does not affect the loss";
    OpBuilder top(&body, body.begin());
    arith::ConstantOp constant = hoisted[i];
    top.insert(constant);
    arg.replaceAllUsesWith(constant);
    (void)step.eraseArgument(arg.getArgNumber());
    params.erase(params.begin() + i);
    grads->erase(grads->begin() + i);
    hoisted.erase(hoisted.begin() + i);
  }
  if (params.empty())
    return forward.emitError("amp-differentiate: no param affects the loss");

  // Optimizer updates; results are the state in argument order, then the loss.
  // State is named as torch.optim's state_dict names it, by param number.
  DenseMap<Value, Value> updated;
  auto setName = [&](BlockArgument arg, const Twine &name) {
    step.setArgAttr(arg.getArgNumber(), amp::AMPDialect::kNameAttrName,
                    StringAttr::get(ctx, name));
  };
  for (auto [k, param, grad] : llvm::enumerate(params, *grads)) {
    // A frontend's name (a state_dict key) is kept.
    auto arg = cast<BlockArgument>(param);
    if (!step.getArgAttr(arg.getArgNumber(), amp::AMPDialect::kNameAttrName))
      setName(arg, "param." + Twine(k));
    unsigned firstState = step.getNumArguments();
    FailureOr<SmallVector<Value>> results = buildOptimizer(b, step, param, grad);
    if (failed(results))
      return failure();
    updated[param] = (*results)[0];
    static const StringRef sgdState[] = {"momentum_buffer", "step"};
    static const StringRef adamState[] = {"exp_avg", "exp_avg_sq", "step"};
    ArrayRef<StringRef> stateNames = optimizer == DifferentiateOptimizer::SGD
                                         ? ArrayRef<StringRef>(sgdState)
                                         : ArrayRef<StringRef>(adamState);
    for (unsigned i = 1; i < results->size(); ++i) {
      BlockArgument state = step.getArgument(firstState + i - 1);
      setName(state, stateNames[i - 1] + "." + Twine(k));
      updated[state] = (*results)[i];
    }
  }
  // Buffers come back updated by the forward, as the optimizer's state does.
  unsigned bufferIndex = 0;
  for (unsigned i = 0, e = forward.getNumResults(); i < e; ++i)
    if (amp::getResultRole(forward, i) == Role::buffer) {
      while (amp::getArgumentRole(step, bufferIndex) != Role::buffer)
        ++bufferIndex;
      updated[step.getArgument(bufferIndex++)] = ret.getOperand(i);
    }
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  for (BlockArgument arg : step.getArguments()) {
    auto it = updated.find(arg);
    if (it == updated.end())
      continue;
    results.push_back(it->second);
    resultAttrs.push_back(step.getArgAttrDict(arg.getArgNumber()));
  }
  results.push_back(lossValue);
  resultAttrs.push_back(getRoleAttrDict(ctx, Role::loss));
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  step.setFunctionType(FunctionType::get(ctx, step.getArgumentTypes(), ValueRange(results).getTypes()));
  for (auto [i, attrs] : llvm::enumerate(resultAttrs))
    step.setResultAttrs(i, attrs);
  step->setAttr(amp::AMPDialect::kTrainingStepAttrName, UnitAttr::get(ctx));
  numParams += params.size();
  return built;
}


void AMPDifferentiatePass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  if (labels.hasValue() && loss != DifferentiateLoss::CrossEntropy)
    return module.emitError("amp-differentiate: labels= applies to loss=cross-entropy"),
           signalPassFailure();
  if (labelSmoothing.hasValue() && loss != DifferentiateLoss::CrossEntropy)
    return module.emitError("amp-differentiate: label-smoothing= applies to loss=cross-entropy"),
           signalPassFailure();
  if (!(labelSmoothing >= 0.0 && labelSmoothing < 1.0))
    return module.emitError() << "amp-differentiate: label-smoothing=" << labelSmoothing.getValue()
                              << " is outside [0, 1)",
           signalPassFailure();
  FailureOr<func::FuncOp> forward = findForward();
  if (failed(forward))
    return signalPassFailure();
  // Elided weights cannot become initial params.
  if (failed(amp::verifyResourcesPresent(*forward)))
    return signalPassFailure();
  if (!forward->getBody().hasOneBlock())
    return forward->emitError("amp-differentiate: needs a function with one block"),
           signalPassFailure();
  unsigned numResults = forward->getNumResults();
  // Buffers: arguments and results with role buffer, paired in order (the
  // forward returns each one's new value: BatchNorm's running statistics).
  SmallVector<unsigned> bufferArgs, bufferResults;
  for (unsigned i = 0, e = forward->getNumArguments(); i < e; ++i)
    if (amp::getArgumentRole(*forward, i) == Role::buffer)
      bufferArgs.push_back(i);
  for (unsigned i = 0; i < numResults; ++i)
    if (amp::getResultRole(*forward, i) == Role::buffer)
      bufferResults.push_back(i);
  if (bufferArgs.size() != bufferResults.size())
    return forward->emitError() << "amp-differentiate: @" << forward->getSymName() << " takes "
                                << bufferArgs.size() << " buffer arguments but returns "
                                << bufferResults.size() << " buffer results (one new value each)",
           signalPassFailure();
  for (auto [arg, res] : llvm::zip(bufferArgs, bufferResults))
    if (forward->getArgumentTypes()[arg] != forward->getResultTypes()[res])
      return forward->emitError() << "amp-differentiate: buffer result #" << res << " ("
                                  << forward->getResultTypes()[res]
                                  << ") must have the type of buffer argument #" << arg << " ("
                                  << forward->getArgumentTypes()[arg] << ")",
             signalPassFailure();
  // With buffers, the one other result is the model's output.
  if (!bufferResults.empty() && !result.hasValue() && numResults - bufferResults.size() == 1)
    for (unsigned i = 0; i < numResults; ++i)
      if (!llvm::is_contained(bufferResults, i))
        result = i;
  if (llvm::is_contained(bufferResults, static_cast<unsigned>(result)))
    return forward->emitError() << "amp-differentiate: result=" << result.getValue()
                                << " is a buffer result, not the model's output",
           signalPassFailure();
  if (numResults != 1 && !result.hasValue())
    return forward->emitError() << "amp-differentiate: @" << forward->getSymName() << " has "
                                << numResults
                                << " results; say which one the loss reads with result=N",
           signalPassFailure();
  if (result >= numResults)
    return forward->emitError() << "amp-differentiate: result=" << result.getValue() << ", but @"
                                << forward->getSymName() << " has " << numResults << " results",
           signalPassFailure();
  auto outputType = dyn_cast<RankedTensorType>(forward->getResultTypes()[result]);
  if (!outputType || !outputType.getElementType().isF32())
    return forward->emitError() << "amp-differentiate: the loss needs an f32 tensor result, got "
                                << forward->getResultTypes()[result] << " (result #" << result.getValue()
                                << ")",
           signalPassFailure();
  // The step starts as a copy of the forward function, next to it.
  SymbolTable symbols(module);
  func::FuncOp step = forward->clone();
  step.setSymName((forward->getSymName() + "_train_step").str());
  step.setPublic();
  symbols.insert(step, std::next(Block::iterator(*forward)));
  // Every argument starts as an input; a name the frontend gave it stays.
  for (unsigned i = 0, e = step.getNumArguments(); i < e; ++i) {
    Attribute name = step.getArgAttr(i, amp::AMPDialect::kNameAttrName);
    bool buffer = llvm::is_contained(bufferArgs, i);
    step.setArgAttrs(i, getRoleAttrDict(ctx, buffer ? Role::buffer : Role::input));
    if (name)
      step.setArgAttr(i, amp::AMPDialect::kNameAttrName, name);
  }
  for (unsigned i = 0; i < numResults; ++i)
    step.setResultAttrs(i, DictionaryAttr::get(ctx, {}));

  FailureOr<BuiltStep> built = buildStep(*forward, step);
  if (failed(built)) {
    step.erase();
    return signalPassFailure();
  }
  ArrayRef<arith::ConstantOp> hoisted = built->hoisted;

  // The hoisted constants' values, as a function a runtime can call.
  if (!hoisted.empty()) {
    OpBuilder moduleBuilder(ctx);
    moduleBuilder.setInsertionPointAfter(step);
    SmallVector<Type> types;
    for (arith::ConstantOp constant : hoisted)
      types.push_back(constant.getType());
    auto init = func::FuncOp::create(moduleBuilder, step.getLoc(),
                                     (forward->getSymName() + "_initial_params").str(),
                                     FunctionType::get(ctx, {}, types));
    symbols.insert(init);
    OpBuilder initBody = OpBuilder::atBlockBegin(init.addEntryBlock());
    SmallVector<Value> values;
    for (arith::ConstantOp constant : hoisted) {
      initBody.insert(constant);
      values.push_back(constant);
    }
    func::ReturnOp::create(initBody, step.getLoc(), values);
    for (unsigned i = 0; i < types.size(); ++i)
      init.setResultAttrs(i, getRoleAttrDict(ctx, Role::param));
    step->setAttr(amp::AMPDialect::kInitialParamsAttrName, FlatSymbolRefAttr::get(init));
  }

  // The rules must have built valid IR; say so here rather than inside the
  // cleanup's patterns.
  if (failed(mlir::verify(step)))
    return signalPassFailure();
  // Tidy what the rules emitted: operands kept only for loop bounds, x * 1.0,
  // duplicates. Convolution adjoints then read two operands, like a
  // convolution, and the policy classifies them as one.
  RewritePatternSet unusedOperands(ctx);
  linalg::populateEraseUnusedOperandsAndResultsPatterns(unusedOperands);
  if (failed(applyPatternsGreedily(step, std::move(unusedOperands))))
    return signalPassFailure();
  OpPassManager cleanup(func::FuncOp::getOperationName());
  cleanup.addPass(createCanonicalizerPass());
  cleanup.addPass(createCSEPass());
  if (failed(runPipeline(cleanup, step)))
    return signalPassFailure();
  numBackwardOps += step.getBody().front().getOperations().size() - std::min<size_t>(
      built->forwardOps, step.getBody().front().getOperations().size());
  // A forward nobody calls is a second copy of the model to lower and
  // compile (a fifth of EfficientNet-B0's compile time).
  if (!keepForward && SymbolTable::symbolKnownUseEmpty(*forward, module))
    forward->erase();
}

} // namespace
