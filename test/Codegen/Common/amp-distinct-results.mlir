// RUN: amp-opt %s -split-input-file -amp-distinct-results | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-lower-to-cpu -o /dev/null

// A value returned twice: the second result is a copy, so that
// buffer-results-to-out-params (which crashes on a repeated allocation)
// writes each out-parameter from its own buffer.
// CHECK-LABEL: func.func @twice(
// CHECK:         %[[Y:.+]] = linalg.copy
// CHECK:         %[[C1:.+]] = bufferization.alloc_tensor() copy(%[[Y]]) : tensor<4xf32>
// CHECK:         %[[C2:.+]] = bufferization.alloc_tensor() copy(%[[Y]]) : tensor<4xf32>
// CHECK:         return %[[Y]], %[[C1]], %[[C2]]
func.func @twice(%w: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.copy ins(%w : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y, %y, %y : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @distinct(
// CHECK-NOT:     bufferization.alloc_tensor
// CHECK:         return %arg0, %{{.+}} :
func.func @distinct(%w: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %z = arith.constant dense<1.0> : tensor<4xf32>
  return %w, %z : tensor<4xf32>, tensor<4xf32>
}
