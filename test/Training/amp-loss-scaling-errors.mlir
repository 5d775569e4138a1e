// RUN: amp-opt %s -split-input-file -amp-loss-scaling -verify-diagnostics
// RUN: not amp-opt %s -split-input-file -amp-loss-scaling="backoff-factor=2" 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not amp-opt %s -split-input-file -amp-loss-scaling="mode=sometimes" 2>&1 | FileCheck %s --check-prefix=MODE
// OPTS: error: amp-loss-scaling: invalid options
// MODE: Cannot find option named 'sometimes'

// A broken contract is reported before anything is rewritten.
// expected-error @+1 {{training step must have exactly one amp.grad_seed, found 0}}
func.func @no_seed(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}

// -----

func.func @twice(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %scale = arith.constant dense<2.0> : tensor<f32>
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  // expected-error @+1 {{amp-loss-scaling: this training step is already loss-scaled}}
  %u = amp.unscale %g, %scale : tensor<4xf32>
  %w1 = amp.sgd %w, %u {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}

// -----

// expected-warning @+1 {{amp-loss-scaling: no function marked amp.training_step; nothing to scale}}
module {
  func.func @not_a_step() {
    return
  }
}

// -----

// Clipping comes after loss scaling: it reads the unscaled gradients.
func.func @clipped(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  // expected-error @+1 {{amp-loss-scaling: this training step is already clipped; run amp-clip-gradients after amp-loss-scaling}}
  %c = amp.clip_grad_value %g {clip_value = 1.0 : f64} : tensor<4xf32>
  %w1 = amp.sgd %w, %c {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, tensor<f32>
}
