//===- GradAccumulation.cpp - the amp-grad-accumulation pass ----------------===//
//
// Both new functions are clones of the training step with their results
// rewired, then stripped of what no longer feeds a result: the accumulate
// step keeps the forward and backward, the apply step keeps the scaler check,
// unscale, optimizers and scale update.
//
//===----------------------------------------------------------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGRADACCUMULATION
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

/// Erases ops that no longer feed anything, then arguments nobody uses.
static void pruneFunction(func::FuncOp func) {
  // Users come after their operands' definitions, so one pass in reverse
  // program order erases whole dead chains.
  SmallVector<Operation *> ops;
  for (Operation &op : func.getBody().front().without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
  llvm::BitVector unused(func.getNumArguments());
  for (BlockArgument arg : func.getArguments())
    if (arg.use_empty())
      unused.set(arg.getArgNumber());
  (void)func.eraseArguments(unused);
}

/// Appends an argument with `role` to a plain function.
static BlockArgument appendArgument(func::FuncOp func, Type type, Role role, Location loc) {
  (void)func.insertArgument(func.getNumArguments(), type,
                            getRoleAttrDict(func.getContext(), role), loc);
  return func.getArgument(func.getNumArguments() - 1);
}

/// Replaces the results of `func` with `values`, with roles.
static void setResults(func::FuncOp func, ArrayRef<Value> values, ArrayRef<Role> roles) {
  MLIRContext *ctx = func.getContext();
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  ret->setOperands(values);
  func.setType(FunctionType::get(ctx, func.getArgumentTypes(), ret.getOperandTypes()));
  SmallVector<DictionaryAttr> attrs;
  for (Role role : roles)
    attrs.push_back(getRoleAttrDict(ctx, role));
  func.setAllResultAttrs(attrs);
}

static Value zerosLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

namespace {
struct GradAccumulationPass
    : public ampc::impl::AMPGradAccumulationBase<GradAccumulationPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> steps;
    for (auto func : module.getOps<func::FuncOp>())
      if (isTrainingStep(func))
        steps.push_back(func);
    for (func::FuncOp func : steps) {
      FailureOr<TrainingStep> step = verifyTrainingStep(func);
      if (failed(step))
        return signalPassFailure();
      if (step->optimizers.empty()) {
        func.emitError("amp-grad-accumulation: training step has no optimizer op");
        return signalPassFailure();
      }
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (amp::getArgumentRole(func, i) == Role::buffer) {
          emitError(func.getArgument(i).getLoc())
              << "amp-grad-accumulation: argument #" << i
              << " is a buffer (model state the forward updates, such as BatchNorm running "
                 "statistics); accumulating steps with buffers is not supported";
          return signalPassFailure();
        }
      buildAccumulate(*step, symbols);
      buildApply(*step, symbols);
    }
  }

  func::FuncOp cloneStep(TrainingStep &step, StringRef suffix, SymbolTable &symbols) {
    func::FuncOp clone = step.func.clone();
    clone.setSymName((step.func.getSymName() + suffix).str());
    clone->removeAttr(amp::AMPDialect::kTrainingStepAttrName);
    symbols.insert(clone, Block::iterator(step.func->getNextNode()));
    return clone;
  }

  /// Forward + backward; adds the (scaled) gradients into accumulators.
  void buildAccumulate(TrainingStep &step, SymbolTable &symbols) {
    func::FuncOp func = cloneStep(step, "_accumulate", symbols);
    SmallVector<Operation *> optimizers = collectOptimizers(func);
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    Value loss = ret.getOperand(step.lossResult);
    OpBuilder b(ret);
    SmallVector<Value> results;
    SmallVector<Role> roles;
    for (Operation *opt : optimizers) {
      Value grad = getRawOptimizerGrad(opt).get();
      BlockArgument acc = appendArgument(func, grad.getType(), Role::grad_accumulator, opt->getLoc());
      results.push_back(arith::AddFOp::create(b, opt->getLoc(), acc, grad));
      roles.push_back(Role::grad_accumulator);
    }
    results.push_back(loss);
    roles.push_back(Role::loss);
    setResults(func, results, roles);
    pruneFunction(func);
  }

  /// Scaler check, unscale, optimizers and scale update, from accumulators.
  void buildApply(TrainingStep &step, SymbolTable &symbols) {
    func::FuncOp func = cloneStep(step, "_apply", symbols);
    SmallVector<Operation *> optimizers = collectOptimizers(func);
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    SmallVector<Value> results, reports;
    SmallVector<Role> roles, reportRoles;
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
      std::optional<Role> role = amp::getResultRole(func, i);
      if (role == Role::loss)
        continue;
      bool isState = amp::isMutableRole(*role);
      (isState ? results : reports).push_back(ret.getOperand(i));
      (isState ? roles : reportRoles).push_back(*role);
    }
    OpBuilder b(ret);
    for (Operation *opt : optimizers) {
      OpOperand &grad = getRawOptimizerGrad(opt);
      BlockArgument acc = appendArgument(func, grad.get().getType(), Role::grad_accumulator, opt->getLoc());
      grad.set(acc);
      results.push_back(zerosLike(b, opt->getLoc(), acc));
      roles.push_back(Role::grad_accumulator);
    }
    // State first, in argument order; the reports (found_inf) after it.
    results.append(reports);
    roles.append(reportRoles);
    setResults(func, results, roles);
    pruneFunction(func);
  }
};
} // namespace
