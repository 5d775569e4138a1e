// result=N picks the output a loss reads when the forward has several (a
// BERT returning two tensors); the others are not returned by the step.
// RUN: amp-opt %s -amp-differentiate="loss=mse params=0 result=1" | FileCheck %s
// RUN: not amp-opt %s -amp-differentiate="loss=mse params=0 result=2" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not amp-opt %s -amp-differentiate="loss=mse params=0" 2>&1 | FileCheck %s --check-prefix=WHICH

// CHECK-LABEL: func.func @two_outputs_train_step(
// CHECK-SAME:    %[[W:.+]]: tensor<4x3xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, %[[Y:.+]]: tensor<4x3xf32> {amp.role = "label"})
// CHECK-SAME:    -> (tensor<4x3xf32> {amp.name = "param.{{[0-9]+}}", amp.role = "param"}, tensor<f32> {amp.role = "loss"})
// CHECK:         %[[T:.+]] = linalg.generic {{.*}} ins(%[[W]] :
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      math.tanh
// CHECK:         linalg.generic {{.*}} ins(%[[T]], %[[Y]] :
// CHECK-NOT:     math.exp
// CHECK:         return
// RANGE: error: amp-differentiate: result=2, but @two_outputs has 2 results
// WHICH: error: amp-differentiate: @two_outputs has 2 results; say which one the loss reads with result=N
func.func @two_outputs(%w: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %e = math.exp %w : tensor<4x3xf32>
  %t = math.tanh %w : tensor<4x3xf32>
  return %e, %t : tensor<4x3xf32>, tensor<4x3xf32>
}
