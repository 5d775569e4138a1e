// RUN: amp-opt %s -split-input-file -convert-amp-to-standard | FileCheck %s

// CHECK-LABEL: func @narrow_and_widen
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>, %[[H:.+]]: tensor<4x8xbf16>)
// CHECK: %[[T:.+]] = arith.truncf %[[X]] : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK: %[[E:.+]] = arith.extf %[[H]] : tensor<4x8xbf16> to tensor<4x8xf32>
// CHECK-NOT: amp.cast
// CHECK: return %[[T]], %[[E]]
func.func @narrow_and_widen(%x: tensor<4x8xf32>, %h: tensor<4x8xbf16>) -> (tensor<4x8xf16>, tensor<4x8xf32>) {
  %0 = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf16>
  %1 = amp.cast %h : tensor<4x8xbf16> to tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf16>, tensor<4x8xf32>
}

// -----

// f16 <-> bf16 goes through f32 (exact widening, one rounding).
// CHECK-LABEL: func @half_to_bfloat
// CHECK: %[[W:.+]] = arith.extf %{{.*}} : f16 to f32
// CHECK: %[[R:.+]] = arith.truncf %[[W]] : f32 to bf16
// CHECK: return %[[R]]
func.func @half_to_bfloat(%x: f16) -> bf16 {
  %0 = amp.cast %x : f16 to bf16
  return %0 : bf16
}

// -----

// The pass works on any op, e.g. nested in a module, and leaves others alone.
// CHECK-LABEL: func @dynamic
// CHECK: arith.truncf %{{.*}} : tensor<?x4xf32> to tensor<?x4xbf16>
// CHECK: arith.addf
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xbf16> {
  %0 = amp.cast %x : tensor<?x4xf32> to tensor<?x4xbf16>
  %1 = arith.addf %0, %0 : tensor<?x4xbf16>
  return %1 : tensor<?x4xbf16>
}
