// RUN: amp-opt %s -split-input-file -amp-autocast -verify-diagnostics | FileCheck %s

// Ops the policy does not know stay f32, with a remark naming them.
func.func private @external(tensor<4xf32>) -> tensor<4xf32>

// CHECK-LABEL: func @unknown_call
// CHECK: %[[R:.+]] = call @external(%{{.*}}) : (tensor<4xf32>) -> tensor<4xf32>
func.func @unknown_call(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{amp-autocast: 'func.call' is not in the precision policy; kept in f32}}
  %0 = func.call @external(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A linalg.generic whose payload holds an op the policy does not know.
// CHECK-LABEL: func @unknown_payload
// CHECK: math.clampf %{{.*}} : f32
func.func @unknown_payload(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{payload contains 'math.clampf', which the policy does not know; kept in f32}}
  %0 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%a : tensor<4xf32>) {
    ^bb0(%x: f32, %o: f32):
      %y = math.clampf %x to [%x, %o] : f32
      linalg.yield %y : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// An scf.for carrying f32 tensors cannot be retyped: it stays f32 (with a
// remark), while the matmul in its body still runs low.
// CHECK-LABEL: func @loop
// CHECK: scf.for
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf16>, tensor<4x4xf16>) outs(%{{.*}} : tensor<4x4xf32>)
func.func @loop(%a: tensor<4x4xf32>, %n: index) -> tensor<4x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-remark @+1 {{'scf.for' is not in the precision policy; kept in f32}}
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %a) -> tensor<4x4xf32> {
    %m = linalg.matmul ins(%acc, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
    scf.yield %m : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}
