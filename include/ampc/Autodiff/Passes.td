//===- Passes.td - ampc reverse-mode differentiation -------------*- tablegen -*-===//

#ifndef AMPC_AUTODIFF_PASSES_TD
#define AMPC_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPDifferentiate : Pass<"amp-differentiate", "::mlir::ModuleOp"> {
  let summary = "Build an FP32 training step from a forward function (reverse-mode autodiff)";
  let description = [{
    Takes a function computing outputs (or a loss) from parameters and
    inputs, and adds the training step of the contract
    (docs/training-step.md) next to it, as `@<function>_train_step`:

    1. parameters: with `params=auto`, every f32 tensor constant of more
       than one element, not all zeros, that the computation reads as an
       input becomes a `param` argument (the corpus models keep their
       weights as constants), and
       `@<function>_initial_params` returns their values; with a list of
       argument numbers (`params=0,2`), those arguments are the params. The
       other arguments are `input`s.
    2. the loss, computed from the function's result (`result=N` chooses
       one of several; the others are not returned by the step):
       `loss=none` differentiates it, and it must hold one element; `loss=mse` appends a `label` argument
       shaped like the result and the mean squared error;
       `loss=cross-entropy` appends a `label` argument and the softmax
       cross-entropy over the last dimension, averaged over the others
       (PyTorch's `cross_entropy`): with `labels=one-hot`, class
       probabilities shaped like the result; with `labels=indices`, i64
       class numbers shaped like the result without its last dimension.
    3. `amp.grad_seed` of the loss, the reverse-mode backward (plain
       linalg/tensor ops, so autocast classifies it like the forward;
       adjoints summed at fan-out, nothing recomputed), and one optimizer
       op per param, whose state becomes `optimizer_state` arguments.

    ```mlir
    // amp-opt model.mlir --amp-differentiate="loss=cross-entropy params=1,2 lr=0.1"
    func.func @model(%x: tensor<32x64xf32>, %w: tensor<64x10xf32>, %b: tensor<10xf32>)
        -> tensor<32x10xf32>
    // adds
    func.func @model_train_step(%x: tensor<32x64xf32> {amp.role = "input"},
        %w: ... {amp.role = "param"}, %b: ... {amp.role = "param"},
        %label: tensor<32x10xf32> {amp.role = "label"})
        -> (... {amp.role = "param"}, ... {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
        attributes {amp.training_step}
    ```

    Aggregate ops (`linalg.softmax`) are decomposed into the generics they
    stand for first. Calls must be inlined first (`--inline`); an op on the
    path from a param to the loss without a gradient rule is an error at its
    location.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "The forward function (default: the module's only public function "
           "with a body and results)">,
    Option<"loss", "loss", "::ampc::DifferentiateLoss",
           /*default=*/"::ampc::DifferentiateLoss::None",
           "The loss appended to the function's result",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateLoss::None, "none",
                          "the result is the loss"),
               clEnumValN(::ampc::DifferentiateLoss::MSE, "mse",
                          "mean squared error against a label"),
               clEnumValN(::ampc::DifferentiateLoss::CrossEntropy, "cross-entropy",
                          "softmax cross-entropy against one-hot labels"),
               clEnumValN(::ampc::DifferentiateLoss::NLL, "nll",
                          "negative log-likelihood of class numbers (torch's nll_loss: the "
                          "result holds log-probabilities)"))}]>,
    Option<"labelSmoothing", "label-smoothing", "double", /*default=*/"0.0",
           "Cross-entropy label smoothing in [0, 1): targets (1 - s) * label + s / classes, "
           "as torch's cross_entropy(label_smoothing=s)">,
    Option<"labels", "labels", "::ampc::DifferentiateLabels",
           /*default=*/"::ampc::DifferentiateLabels::OneHot",
           "What loss=cross-entropy's label holds",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateLabels::OneHot, "one-hot",
                          "class probabilities (f32), shaped like the result"),
               clEnumValN(::ampc::DifferentiateLabels::Indices, "indices",
                          "class numbers (i64), the result's shape without its last dimension"))}]>,
    Option<"optimizer", "optimizer", "::ampc::DifferentiateOptimizer",
           /*default=*/"::ampc::DifferentiateOptimizer::SGD",
           "The optimizer op updating each param",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateOptimizer::SGD, "sgd", "amp.sgd"),
               clEnumValN(::ampc::DifferentiateOptimizer::Adam, "adam", "amp.adam"),
               clEnumValN(::ampc::DifferentiateOptimizer::AdamW, "adamw", "amp.adamw"))}]>,
    Option<"result", "result", "unsigned", /*default=*/"0",
           "The result the loss reads, for a function with several results "
           "(default: the only one); the others are not returned by the step">,
    Option<"params", "params", "std::string", /*default=*/"\"auto\"",
           "'auto' (f32 tensor constants become params) or argument numbers, "
           "comma-separated">,
    Option<"lr", "lr", "double", /*default=*/"0.01", "Learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false", "SGD Nesterov momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (adamw: 0.01 unless given, as torch.optim.AdamW)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "Adam beta2">,
    Option<"eps", "eps", "double", /*default=*/"1.0e-8", "Adam epsilon">,
    Option<"keepForward", "keep-forward", "bool", /*default=*/"true",
           "Keep the forward function next to the step (false: only the step is "
           "compiled, as ampc.torch's trainers need no forward)">,
  ];
  let statistics = [
    Statistic<"numParams", "params", "Params the training step updates">,
    Statistic<"numBackwardOps", "backward-ops", "Ops in the backward and the loss">,
  ];
}

#endif // AMPC_AUTODIFF_PASSES_TD
