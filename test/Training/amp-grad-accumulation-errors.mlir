// RUN: amp-opt %s -amp-grad-accumulation -verify-diagnostics

// expected-error @+1 {{training step must have exactly one amp.grad_seed, found 0}}
func.func @broken(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}
