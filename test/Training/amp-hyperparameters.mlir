// RUN: amp-opt %s -split-input-file -amp-hyperparameters="inputs=lr,weight-decay" | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-hyperparameters="inputs=lr" -amp-hyperparameters="inputs=lr" | FileCheck %s --check-prefix=TWICE
// RUN: amp-opt %s -split-input-file -amp-hyperparameters | FileCheck %s --check-prefix=NONE

// One tensor<f64> argument per hyperparameter, shared by every optimizer op
// of the step, its compiled value as the initial value.
// CHECK-LABEL: func.func @sgd_momentum(
// CHECK-SAME:    %[[LR:[^:]+]]: tensor<f64> {amp.init = 1.000000e-01 : f64, amp.name = "lr", amp.role = "hyperparameter"}
// CHECK-SAME:    %[[WD:[^:]+]]: tensor<f64> {amp.init = 0.000000e+00 : f64, amp.name = "weight_decay", amp.role = "hyperparameter"})
// CHECK:         amp.sgd %{{.+}}, %{{.+}} state(%{{.+}}, %{{.+}} : tensor<4xf32>, tensor<i64>) lr(%[[LR]]) weight_decay(%[[WD]]) {lr = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64}
// CHECK:         amp.sgd %{{.+}}, %{{.+}} lr(%[[LR]]) weight_decay(%[[WD]]) {lr = 1.000000e-01 : f64}
// The second run finds the input it made and changes nothing.
// TWICE-LABEL: func.func @sgd_momentum(
// TWICE-COUNT-1: amp.role = "hyperparameter"
// TWICE-NOT:     amp.role = "hyperparameter"
// TWICE-LABEL: func.func @adamw(
// NONE-LABEL:  func.func @sgd_momentum(
// NONE-NOT:      hyperparameter
func.func @sgd_momentum(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"},
                        %s: tensor<i64> {amp.role = "optimizer_state"}, %v: tensor<4xf32> {amp.role = "param"},
                        %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<i64> {amp.role = "optimizer_state"},
        tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1, %m1, %s1 = amp.sgd %w, %g state(%m, %s : tensor<4xf32>, tensor<i64>) {lr = 0.1 : f64, momentum = 0.9 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  %v1 = amp.sgd %v, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %m1, %s1, %v1, %l : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<4xf32>, tensor<f32>
}

// -----

// AdamW: lr and its decoupled weight decay (0.01 by default).
// CHECK-LABEL: func.func @adamw(
// CHECK-SAME:    %[[LR:[^:]+]]: tensor<f64> {amp.init = 1.000000e-03 : f64, amp.name = "lr", amp.role = "hyperparameter"}
// CHECK-SAME:    %[[WD:[^:]+]]: tensor<f64> {amp.init = 1.000000e-02 : f64, amp.name = "weight_decay", amp.role = "hyperparameter"})
// CHECK:         amp.adamw {{.+}} lr(%[[LR]]) weight_decay(%[[WD]]) {lr = 1.000000e-03 : f64}
func.func @adamw(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"},
                 %v: tensor<4xf32> {amp.role = "optimizer_state"}, %s: tensor<i64> {amp.role = "optimizer_state"},
                 %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<4xf32> {amp.role = "optimizer_state"},
        tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1, %m1, %v1, %s1 = amp.adamw %w, %g, %m, %v, %s {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
  return %w1, %m1, %v1, %s1, %l : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}

// -----

// A function that is not a training step is left alone.
// CHECK-LABEL: func.func @forward(
// CHECK-NOT:     hyperparameter
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
