// RUN: amp-opt %s -split-input-file -amp-untie-empty-tensors | FileCheck %s

// One empty tensor, two destinations: each gets its own.
// CHECK-LABEL: func.func @two_flips(
// CHECK: %[[E0:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[E1:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK-DAG: linalg.transpose ins(%{{.+}} : tensor<3x2xf32>) outs(%[[E0]] : tensor<2x3xf32>)
// CHECK-DAG: linalg.transpose ins(%{{.+}} : tensor<3x2xf32>) outs(%[[E1]] : tensor<2x3xf32>)
func.func @two_flips(%a: tensor<3x2xf32>, %b: tensor<3x2xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %e = tensor.empty() : tensor<2x3xf32>
  %ta = linalg.transpose ins(%a : tensor<3x2xf32>) outs(%e : tensor<2x3xf32>) permutation = [1, 0]
  %tb = linalg.transpose ins(%b : tensor<3x2xf32>) outs(%e : tensor<2x3xf32>) permutation = [1, 0]
  return %ta, %tb : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// A zero fill that starts two accumulations: a fill each, on its own empty
// tensor; dynamic sizes come along.
// CHECK-LABEL: func.func @shared_fill(
// CHECK-SAME: %[[A:[^ :]+]]: tensor<?x4xf32>, %[[B:[^ :]+]]: tensor<4x4xf32>, %[[N:[^ :]+]]: index)
// CHECK: %[[ZERO:.+]] = arith.constant 0.0
// CHECK: %[[E0:.+]] = tensor.empty(%[[N]]) : tensor<?x4xf32>
// CHECK: %[[F0:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E0]] : tensor<?x4xf32>)
// CHECK: %[[E1:.+]] = tensor.empty(%[[N]]) : tensor<?x4xf32>
// CHECK: %[[F1:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E1]] : tensor<?x4xf32>)
// CHECK-DAG: linalg.matmul ins(%[[A]], %[[B]] : tensor<?x4xf32>, tensor<4x4xf32>) outs(%[[F0]] : tensor<?x4xf32>)
// CHECK-DAG: linalg.matmul ins(%[[A]], %[[B]] : tensor<?x4xf32>, tensor<4x4xf32>) outs(%[[F1]] : tensor<?x4xf32>)
// CHECK-NOT: linalg.fill
func.func @shared_fill(%a: tensor<?x4xf32>, %b: tensor<4x4xf32>, %n: index) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m1 = linalg.matmul ins(%a, %b : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m2 = linalg.matmul ins(%a, %b : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m1, %m2 : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// Single uses, and a fill of something other than an empty tensor (its
// values are not the fill's alone to give away), stay as they are.
// CHECK-LABEL: func.func @left_alone(
// CHECK-COUNT-1: tensor.empty
// CHECK-COUNT-2: linalg.fill
// CHECK-NOT: linalg.fill
// CHECK: return
func.func @left_alone(%t: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%t : tensor<4xf32>) -> tensor<4xf32>
  %s = arith.addf %f, %f : tensor<4xf32>
  return %z, %f, %s : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
