// RUN: amp-opt %s -split-input-file -amp-differentiate="loss=mse params=1" | FileCheck %s

// amp.stop_gradient (detach, an embedding's padding row) is a constant to the
// backward: the weight's gradient comes from the second product only, one
// backward matmul (dW = X^T dB) instead of two.
// CHECK-LABEL: func.func @stop_train_step(
// CHECK: %[[FROZEN:.+]] = amp.stop_gradient %[[W:.+]] : tensor<3x5xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %[[FROZEN]]
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]]
// CHECK: %[[DW:.+]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<3x4xf32>, tensor<4x5xf32>)
// CHECK-NOT: linalg.matmul
// CHECK: amp.sgd %[[W]], %[[DW]]
func.func @stop(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>, %y: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %frozen = amp.stop_gradient %w : tensor<3x5xf32>
  %z = tensor.empty() : tensor<4x5xf32>
  %c0 = arith.constant 0.0 : f32
  %zero = linalg.fill ins(%c0 : f32) outs(%z : tensor<4x5xf32>) -> tensor<4x5xf32>
  %a = linalg.matmul ins(%x, %frozen : tensor<4x3xf32>, tensor<3x5xf32>) outs(%zero : tensor<4x5xf32>) -> tensor<4x5xf32>
  %b = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%zero : tensor<4x5xf32>) -> tensor<4x5xf32>
  %e = tensor.empty() : tensor<4x5xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x5xf32>, tensor<4x5xf32>) outs(%e : tensor<4x5xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    linalg.yield %m : f32
  } -> tensor<4x5xf32>
  return %s : tensor<4x5xf32>
}
