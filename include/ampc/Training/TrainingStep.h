//===- TrainingStep.h - reading the training-step contract --------*- C++ -*-===//

#ifndef AMPC_TRAINING_TRAININGSTEP_H
#define AMPC_TRAINING_TRAININGSTEP_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace ampc {

/// The pieces of a training step that passes work on.
struct TrainingStep {
  mlir::func::FuncOp func;
  mlir::func::ReturnOp ret;
  amp::GradSeedOp seed;
  /// Optimizer ops (amp.sgd / amp.adam / amp.adamw), in program order.
  llvm::SmallVector<mlir::Operation *> optimizers;
  /// Result index of the loss.
  unsigned lossResult = 0;
};

/// Whether `func` is marked as a training step.
bool isTrainingStep(mlir::func::FuncOp func);

/// Checks the contract (docs/training-step.md), emitting a located error for
/// each violation, and returns the step's pieces when it holds.
mlir::FailureOr<TrainingStep> verifyTrainingStep(mlir::func::FuncOp func);

/// The optimizer ops (amp.sgd / amp.adam / amp.adamw) in `func`, in program order.
llvm::SmallVector<mlir::Operation *> collectOptimizers(mlir::func::FuncOp func);

/// `{amp.role = "<role>"}`, for argument and result attributes.
mlir::DictionaryAttr getRoleAttrDict(mlir::MLIRContext *context, amp::Role role);

/// The gradient operand of an optimizer op, and its updated-param result.
mlir::OpOperand &getOptimizerGrad(mlir::Operation *optimizer);
mlir::Value getOptimizerParam(mlir::Operation *optimizer);
/// The gradient operand an optimizer's chain starts from: the operand of
/// its amp.unscale / clip ops when present, else its own gradient operand.
mlir::OpOperand &getRawOptimizerGrad(mlir::Operation *optimizer);
/// (old, new) pairs of everything an optimizer op updates: param then state.
llvm::SmallVector<std::pair<mlir::Value, mlir::Value>>
getOptimizerUpdates(mlir::Operation *optimizer);

/// Appends an argument and a result with `role` (results go before the loss,
/// which stays last). Returns the new block argument.
mlir::BlockArgument addStateArgument(TrainingStep &step, mlir::Type type,
                                     amp::Role role, mlir::Location loc);
/// Makes `value` the returned result for the state argument `arg`.
void setStateResult(TrainingStep &step, mlir::BlockArgument arg, mlir::Value value);

} // namespace ampc

#endif // AMPC_TRAINING_TRAININGSTEP_H
