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

// -----

// A reduction's extra result computed from no differentiable input (the
// window element count torch-mlir writes beside an average pool's sum) has
// a zero gradient, whatever its combiner (here a select the sum and max
// rules do not know): only the sum carries the adjoint back.
// CHECK-LABEL: func.func @average_train_step(
// CHECK: %[[R:.+]]:2 = linalg.generic
// CHECK: arith.divf %{{.*}}, %{{.*}}
// CHECK: amp.sgd
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#v = affine_map<(d0) -> (d0)>
func.func @average(%x: tensor<4x6xf32>, %w: tensor<4x6xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x6xf32>
  %xw = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %w : tensor<4x6xf32>, tensor<4x6xf32>) outs(%e2 : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  %r:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%xw : tensor<4x6xf32>) outs(%z, %z : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32, %cnt: f32):
    %i = linalg.index 1 : index
    %c3 = arith.constant 3 : index
    %inside = arith.cmpi ult, %i, %c3 : index
    %one = arith.constant 1.0 : f32
    %s = arith.addf %in, %acc : f32
    %inc = arith.addf %cnt, %one : f32
    %c = arith.select %inside, %inc, %cnt : f32
    linalg.yield %s, %c : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %avg = linalg.generic {indexing_maps = [#v, #v, #v], iterator_types = ["parallel"]} ins(%r#0, %r#1 : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%s: f32, %n: f32, %o: f32):
    %d = arith.divf %s, %n : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  return %avg : tensor<4xf32>
}
