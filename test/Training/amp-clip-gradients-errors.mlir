// RUN: amp-opt %s -split-input-file -amp-clip-gradients="max-norm=1.0" -verify-diagnostics
// RUN: not amp-opt %s -split-input-file -amp-clip-gradients="max-norm=-1" 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not amp-opt %s -split-input-file -amp-clip-gradients="max-norm=1 norm-type=3" 2>&1 | FileCheck %s --check-prefix=OPTS
// OPTS: error: amp-clip-gradients: invalid options: needs finite max-norm >= 0 and max-value >= 0 (0: off) and norm-type 2, 1 or inf

// expected-error @+1 {{amp-clip-gradients: this training step is already clipped}}
func.func @twice(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %c = amp.clip_grad_value %g {clip_value = 1.0 : f64} : tensor<4xf32>
  %w1 = amp.sgd %w, %c {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// The global norm needs every gradient before any update is used.
func.func @interleaved(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<4xf32> {amp.role = "param"},
                       %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  // expected-error @+1 {{amp-clip-gradients: this optimizer's update is used before the last gradient of the step is computed}}
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %h = arith.mulf %g, %w1 : tensor<4xf32>
  %v1 = amp.sgd %v, %h {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %l : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// An update placed before the last gradient (but used after) moves after
// the clip: no error.
func.func @early_update(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<4xf32> {amp.role = "param"},
                        %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %h = arith.mulf %g, %g : tensor<4xf32>
  %v1 = amp.sgd %v, %h {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %l : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}
