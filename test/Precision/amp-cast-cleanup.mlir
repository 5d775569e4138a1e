// RUN: amp-opt %s -split-input-file -amp-cast-cleanup | FileCheck %s

// Casts of constants fold into low-precision constants; the f32 constant
// they leave unused is erased.
// CHECK-LABEL: func @fold_constant_weight
// CHECK-NOT: tensor<4x4xf32> = arith.constant
// CHECK: %[[W:.+]] = arith.constant dense<2.500000e-01> : tensor<4x4xf16>
// CHECK-NOT: amp.cast
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]] : tensor<4x4xf16>, tensor<4x4xf16>)
func.func @fold_constant_weight(%x: tensor<4x4xf16>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.25> : tensor<4x4xf32>
  %w16 = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf16>
  %m = linalg.matmul ins(%x, %w16 : tensor<4x4xf16>, tensor<4x4xf16>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

// A constant still used in f32 stays, next to its low-precision copy.
// CHECK-LABEL: func @constant_shared
// CHECK-DAG: arith.constant dense<2.500000e-01> : tensor<4x4xf32>
// CHECK-DAG: arith.constant dense<2.500000e-01> : tensor<4x4xf16>
func.func @constant_shared() -> (tensor<4x4xf32>, tensor<4x4xf16>) {
  %w = arith.constant dense<0.25> : tensor<4x4xf32>
  %w16 = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf16>
  return %w, %w16 : tensor<4x4xf32>, tensor<4x4xf16>
}

// -----

// Exact round trips fold; lossy ones stay.
// CHECK-LABEL: func @round_trips
// CHECK-SAME: (%[[H:.+]]: tensor<4xf16>, %[[F:.+]]: tensor<4xf32>)
// CHECK: %[[L:.+]] = amp.cast %[[F]] : tensor<4xf32> to tensor<4xbf16>
// CHECK: %[[B:.+]] = amp.cast %[[L]] : tensor<4xbf16> to tensor<4xf32>
// CHECK: return %[[H]], %[[B]]
func.func @round_trips(%h: tensor<4xf16>, %f: tensor<4xf32>) -> (tensor<4xf16>, tensor<4xf32>) {
  %0 = amp.cast %h : tensor<4xf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xf16>
  %2 = amp.cast %f : tensor<4xf32> to tensor<4xbf16>
  %3 = amp.cast %2 : tensor<4xbf16> to tensor<4xf32>
  return %1, %3 : tensor<4xf16>, tensor<4xf32>
}

// -----

// Two casts of one value to one type merge into a single cast placed right
// after the value's definition, dominating every use.
// CHECK-LABEL: func @merge_duplicates
// CHECK: %[[S:.+]] = arith.addf
// CHECK-NEXT: %[[C:.+]] = amp.cast %[[S]] : tensor<4xf32> to tensor<4xf16>
// CHECK-NOT: amp.cast
// CHECK: scf.if
// CHECK: arith.mulf %[[C]], %[[C]]
// CHECK: arith.subf %[[C]], %[[C]]
func.func @merge_duplicates(%a: tensor<4xf32>, %p: i1) -> tensor<4xf16> {
  %s = arith.addf %a, %a : tensor<4xf32>
  %r = scf.if %p -> tensor<4xf16> {
    %c1 = amp.cast %s : tensor<4xf32> to tensor<4xf16>
    %m = arith.mulf %c1, %c1 : tensor<4xf16>
    scf.yield %m : tensor<4xf16>
  } else {
    %c2 = amp.cast %s : tensor<4xf32> to tensor<4xf16>
    %d = arith.subf %c2, %c2 : tensor<4xf16>
    scf.yield %d : tensor<4xf16>
  }
  return %r : tensor<4xf16>
}

// -----

// Casts of tensor.empty and of filled tensors are retyped at the source.
// CHECK-LABEL: func @empty_and_fill
// CHECK-NOT: f32
// CHECK-DAG: %[[Z:.+]] = arith.constant 0.000000e+00 : bf16
// CHECK-DAG: %[[E:.+]] = tensor.empty() : tensor<8xbf16>
// CHECK: %[[F:.+]] = linalg.fill ins(%[[Z]] : bf16) outs(%[[E]] : tensor<8xbf16>)
// CHECK: %[[E2:.+]] = tensor.empty() : tensor<8xbf16>
// CHECK-NOT: amp.cast
// CHECK: return %[[F]], %[[E2]]
func.func @empty_and_fill() -> (tensor<8xbf16>, tensor<8xbf16>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %0 = amp.cast %f : tensor<8xf32> to tensor<8xbf16>
  %1 = amp.cast %e : tensor<8xf32> to tensor<8xbf16>
  return %0, %1 : tensor<8xbf16>, tensor<8xbf16>
}

// -----

// User casts are never touched, even as exact round trips.
// CHECK-LABEL: func @user_casts
// CHECK: arith.extf
// CHECK: arith.truncf
func.func @user_casts(%h: tensor<4xf16>) -> tensor<4xf16> {
  %0 = arith.extf %h : tensor<4xf16> to tensor<4xf32>
  %1 = arith.truncf %0 : tensor<4xf32> to tensor<4xf16>
  return %1 : tensor<4xf16>
}

// -----

// Other ops are left as they are: cleanup folds casts only.
// CHECK-LABEL: func @other_ops_untouched
// CHECK: %[[C:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: arith.addf %[[C]], %[[C]] : f32
func.func @other_ops_untouched() -> f32 {
  %c = arith.constant 1.0 : f32
  %s = arith.addf %c, %c : f32
  return %s : f32
}
