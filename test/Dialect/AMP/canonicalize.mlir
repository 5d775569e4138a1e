// RUN: amp-opt %s -split-input-file -canonicalize | FileCheck %s

// An exact round trip (f16 -> f32 -> f16) folds to the original value.
// CHECK-LABEL: func @exact_round_trip
// CHECK-SAME: (%[[X:.+]]: tensor<4xf16>)
// CHECK-NOT: amp.cast
// CHECK: return %[[X]]
func.func @exact_round_trip(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = amp.cast %x : tensor<4xf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xf16>
  return %1 : tensor<4xf16>
}

// -----

// A lossy round trip (f32 -> f16 -> f32) is kept: it rounds.
// CHECK-LABEL: func @lossy_round_trip
// CHECK: %[[H:.+]] = amp.cast %{{.*}} : tensor<4xf32> to tensor<4xf16>
// CHECK: %[[F:.+]] = amp.cast %[[H]] : tensor<4xf16> to tensor<4xf32>
// CHECK: return %[[F]]
func.func @lossy_round_trip(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xf16>
  %1 = amp.cast %0 : tensor<4xf16> to tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// bf16 -> f32 -> f16 composes to bf16 -> f16 (the widening is exact).
// CHECK-LABEL: func @compose_after_widening
// CHECK-SAME: (%[[X:.+]]: tensor<4xbf16>)
// CHECK: %[[C:.+]] = amp.cast %[[X]] : tensor<4xbf16> to tensor<4xf16>
// CHECK-NEXT: return %[[C]]
func.func @compose_after_widening(%x: tensor<4xbf16>) -> tensor<4xf16> {
  %0 = amp.cast %x : tensor<4xbf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xf16>
  return %1 : tensor<4xf16>
}

// -----

// Constants fold, rounding to nearest even: 1.0009765625 is 1 + 2^-10
// (exact in f16), 1.00048828125 is halfway and rounds to 1.0.
// CHECK-LABEL: func @constant_fold
// CHECK-DAG: arith.constant dense<[1.000000e+00, 1.000980e+00, 6.550400e+04, 0x7C00]> : tensor<4xf16>
// CHECK-DAG: arith.constant 3.000000e+00 : bf16
// CHECK-NOT: amp.cast
func.func @constant_fold() -> (tensor<4xf16>, bf16) {
  %c = arith.constant dense<[1.00048828125, 1.0009765625, 65504.0, 1.0e+6]> : tensor<4xf32>
  %0 = amp.cast %c : tensor<4xf32> to tensor<4xf16>
  %s = arith.constant 3.0 : f32
  %1 = amp.cast %s : f32 to bf16
  return %0, %1 : tensor<4xf16>, bf16
}

// -----

// CHECK-LABEL: func @splat_constant_fold
// CHECK: arith.constant dense<1.000980e-01> : tensor<64x64xbf16>
func.func @splat_constant_fold() -> tensor<64x64xbf16> {
  %c = arith.constant dense<0.1> : tensor<64x64xf32>
  %0 = amp.cast %c : tensor<64x64xf32> to tensor<64x64xbf16>
  return %0 : tensor<64x64xbf16>
}

// -----

// CHECK-LABEL: func @empty_is_retyped
// CHECK: %[[E:.+]] = tensor.empty(%{{.*}}) : tensor<?x8xf16>
// CHECK-NEXT: return %[[E]]
func.func @empty_is_retyped(%n: index) -> tensor<?x8xf16> {
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %0 = amp.cast %e : tensor<?x8xf32> to tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}

// -----

// User casts are not amp.cast: canonicalization of amp.cast leaves them be.
// CHECK-LABEL: func @user_casts_untouched
// CHECK: arith.truncf
// CHECK: amp.cast
func.func @user_casts_untouched(%x: tensor<4xf32>) -> tensor<4xf16> {
  %0 = arith.truncf %x : tensor<4xf32> to tensor<4xbf16>
  %1 = amp.cast %0 : tensor<4xbf16> to tensor<4xf16>
  return %1 : tensor<4xf16>
}
