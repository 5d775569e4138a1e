// RUN: amp-opt %s -split-input-file | amp-opt -split-input-file | FileCheck %s
// RUN: amp-opt %s -split-input-file -mlir-print-op-generic | amp-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @cast_tensor
// CHECK: amp.cast %{{.*}} : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK: amp.cast %{{.*}} : tensor<4x8xf16> to tensor<4x8xbf16>
// CHECK: amp.cast %{{.*}} : tensor<4x8xbf16> to tensor<4x8xf32>
func.func @cast_tensor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf16>
  %1 = amp.cast %0 : tensor<4x8xf16> to tensor<4x8xbf16>
  %2 = amp.cast %1 : tensor<4x8xbf16> to tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @cast_scalar_and_dynamic
// CHECK: amp.cast %{{.*}} : f32 to bf16
// CHECK: amp.cast %{{.*}} : tensor<?x3xf32> to tensor<?x3xf16>
func.func @cast_scalar_and_dynamic(%s: f32, %t: tensor<?x3xf32>) -> (bf16, tensor<?x3xf16>) {
  %0 = amp.cast %s : f32 to bf16
  %1 = amp.cast %t : tensor<?x3xf32> to tensor<?x3xf16>
  return %0, %1 : bf16, tensor<?x3xf16>
}

// -----

// CHECK-LABEL: func @pins
// CHECK: arith.addf %{{.*}} {amp.precision = "f32"}
// CHECK: arith.mulf %{{.*}} {amp.precision = "bf16"}
func.func @pins(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a {amp.precision = "f32"} : tensor<4xf32>
  %1 = arith.mulf %0, %0 {amp.precision = "bf16"} : tensor<4xf32>
  return %1 : tensor<4xf32>
}
