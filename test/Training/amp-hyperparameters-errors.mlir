// RUN: amp-opt %s -split-input-file -amp-hyperparameters="inputs=lr" -verify-diagnostics
// RUN: not amp-opt %s -split-input-file -amp-hyperparameters="inputs=momentum" 2>&1 | FileCheck %s --check-prefix=MOMENTUM
// RUN: not amp-opt %s -split-input-file -amp-hyperparameters="inputs=beta1" 2>&1 | FileCheck %s --check-prefix=BETA
// RUN: not amp-opt %s -amp-hyperparameters="inputs=learning_rate" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: amp-hyperparameters: unknown hyperparameter 'learning_rate'; expected lr, weight_decay, momentum, beta1, beta2 or eps

// Param groups with different learning rates cannot share one input.
func.func @two_lrs(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<4xf32> {amp.role = "param"},
                   %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  // expected-note @+1 {{the first optimizer op with lr}}
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{amp-hyperparameters: optimizer ops disagree on lr (0.01 here, 0.1 at the first one): a run-time lr is one value per step}}
  %v1 = amp.sgd %v, %g {lr = 0.01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %l : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// MOMENTUM: error: amp-hyperparameters: this amp.sgd has no momentum (momentum = 0 when it was built)
// BETA: error: amp-hyperparameters: 'beta1' is not a hyperparameter of the step's optimizer (amp.sgd)
func.func @plain_sgd(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}
// RUN: amp-opt %s -split-input-file -amp-hyperparameters="inputs=lr keep-disagreeing=true" 2>&1 | FileCheck %s --check-prefix=KEEP
// KEEP: warning: amp-hyperparameters: optimizer ops disagree on lr (0.01 here, 0.1 at the first one): lr stays compiled in
// KEEP-LABEL: func.func @two_lrs(
// KEEP-NOT: hyperparameter
// KEEP-LABEL: func.func @plain_sgd(
