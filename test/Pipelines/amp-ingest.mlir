// RUN: amp-opt %s -split-input-file -amp-ingest | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-ingest -amp-autocast -amp-cast-cleanup -amp-check-precision | FileCheck %s --check-prefix=AMP

// TOSA matmul, add, exp and reduce_sum arrive as linalg ops.
// CHECK-LABEL: func @tosa_block
// CHECK-NOT: tosa.
// CHECK: linalg.batch_matmul
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.reduce
// AMP-LABEL: func @tosa_block
// AMP: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<1x4x8xf16>, tensor<1x8x16xf16>) outs(%{{.*}} : tensor<1x4x16xf32>)
// AMP: math.exp %{{.*}} : f32
// AMP: arith.addf %{{.*}}, %{{.*}} : f32
func.func @tosa_block(%a: tensor<1x4x8xf32>, %b: tensor<1x8x16xf32>, %bias: tensor<1x1x16xf32>) -> tensor<1x4x1xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %m = tosa.matmul %a, %b, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %s = tosa.add %m, %bias : (tensor<1x4x16xf32>, tensor<1x1x16xf32>) -> tensor<1x4x16xf32>
  %e = tosa.exp %s : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %r = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<1x4x16xf32>) -> tensor<1x4x1xf32>
  return %r : tensor<1x4x1xf32>
}

// -----

// Linalg input passes through unchanged apart from canonicalization.
// CHECK-LABEL: func @already_linalg
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>)
func.func @already_linalg(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}
