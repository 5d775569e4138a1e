//===- TrainingStepTest.cpp - the training-step contract helpers ------------===//

#include "ampc/InitAll.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace ampc;

namespace {

constexpr const char *kStep = R"mlir(
func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"},
                %s: tensor<i64> {amp.role = "optimizer_state"}, %x: tensor<4xf32> {amp.role = "input"},
                %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"},
        tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%e : tensor<4xf32>) dimensions = [0]
  %w1, %m1, %s1 = amp.sgd %w, %g state(%m, %s : tensor<4xf32>, tensor<i64>) {lr = 0.1 : f64, momentum = 0.9 : f64}
      : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %w1, %m1, %s1, %l : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}
)mlir";

class TrainingStepTest : public ::testing::Test {
protected:
  TrainingStepTest() {
    DialectRegistry registry;
    ampc::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    module = parseSourceString<ModuleOp>(kStep, &context);
  }
  func::FuncOp step() { return *module->getOps<func::FuncOp>().begin(); }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(TrainingStepTest, FindsThePieces) {
  ASSERT_TRUE(module);
  ASSERT_TRUE(isTrainingStep(step()));
  FailureOr<TrainingStep> s = verifyTrainingStep(step());
  ASSERT_TRUE(succeeded(s));
  EXPECT_EQ(s->lossResult, 3u);
  ASSERT_EQ(s->optimizers.size(), 1u);
  EXPECT_EQ(getOptimizerParam(s->optimizers[0]), step().getArgument(0));
  auto updates = getOptimizerUpdates(s->optimizers[0]);
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[1].first, step().getArgument(1));
  EXPECT_EQ(updates[2].first, step().getArgument(2));
}

TEST_F(TrainingStepTest, AddedStateKeepsTheContract) {
  ASSERT_TRUE(module);
  FailureOr<TrainingStep> s = verifyTrainingStep(step());
  ASSERT_TRUE(succeeded(s));
  auto type = RankedTensorType::get({}, Float32Type::get(&context));
  BlockArgument arg = addStateArgument(*s, type, amp::Role::scaler_state, step().getLoc());
  // The new result sits before the loss, which stays last.
  EXPECT_EQ(s->lossResult, 4u);
  EXPECT_EQ(amp::getResultRole(step(), 3), amp::Role::scaler_state);
  EXPECT_EQ(amp::getResultRole(step(), 4), amp::Role::loss);
  EXPECT_EQ(amp::getArgumentRole(step(), arg.getArgNumber()), amp::Role::scaler_state);
  // Until set, the state is returned unchanged; the contract still holds.
  EXPECT_EQ(s->ret.getOperand(3), arg);
  EXPECT_TRUE(succeeded(verifyTrainingStep(step())));
  setStateResult(*s, arg, arg);
  EXPECT_TRUE(succeeded(verifyTrainingStep(step())));
}

TEST_F(TrainingStepTest, ReportsBrokenContracts) {
  ASSERT_TRUE(module);
  // Drop the loss role: the step no longer returns a loss.
  step().removeResultAttr(3, StringAttr::get(&context, amp::AMPDialect::kRoleAttrName));
  std::string messages;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    messages += diag.str() + "\n";
    return success();
  });
  EXPECT_TRUE(failed(verifyTrainingStep(step())));
  EXPECT_NE(messages.find("training step result #3 has no 'amp.role'"), std::string::npos) << messages;
}

} // namespace
