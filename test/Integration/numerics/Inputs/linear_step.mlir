// A one-parameter linear model, loss = sum(w * x), with SGD momentum: the
// smallest training step that exercises loss scaling and optimizer state.
func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"}, %s: tensor<i64> {amp.role = "optimizer_state"}, %x: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %p = arith.mulf %w, %x : tensor<4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.reduce ins(%p : tensor<4xf32>) outs(%z0 : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  %seed = amp.grad_seed %loss : tensor<f32>
  %e = tensor.empty() : tensor<4xf32>
  %sb = linalg.broadcast ins(%seed : tensor<f32>) outs(%e : tensor<4xf32>) dimensions = [0]
  %g = arith.mulf %sb, %x : tensor<4xf32>
  %w1, %m1, %s1 = amp.sgd %w, %g state(%m, %s : tensor<4xf32>, tensor<i64>) {lr = 0.1 : f64, momentum = 0.9 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %w1, %m1, %s1, %loss : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}
