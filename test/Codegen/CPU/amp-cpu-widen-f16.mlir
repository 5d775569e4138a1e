// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-widen-f16))' | FileCheck %s

// f16 inputs, f32 accumulator: the matmul reads f32 copies (one per value,
// the transposed operand through a transpose of the wide copy); an
// elementwise reader that only extends the f16 value reads the copy too.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: %[[A:.*]]: tensor<8x16xf16>, %[[B:.*]]: tensor<4x16xf16>
// CHECK-DAG: %[[WA:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<8x16xf16>) outs(%{{.*}} : tensor<8x16xf32>)
// CHECK-DAG: %[[WB:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<4x16xf16>) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[WB]] : tensor<4x16xf32>)
// CHECK: %[[MM:.*]] = linalg.generic {{.*}} ins(%[[WA]], %[[WT]] : tensor<8x16xf32>, tensor<16x4xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %[[O:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[O]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]]
// CHECK: linalg.generic {{.*}} ins(%[[WA]] : tensor<8x16xf32>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32,
// CHECK-NOT: arith.extf
// CHECK: return
func.func @matmul(%a: tensor<8x16xf16>, %b: tensor<4x16xf16>, %c: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x16xf32>) {
  %e = tensor.empty() : tensor<16x4xf16>
  %bt = linalg.transpose ins(%b : tensor<4x16xf16>) outs(%e : tensor<16x4xf16>) permutation = [1, 0]
  %mm = linalg.matmul ins(%a, %bt : tensor<8x16xf16>, tensor<16x4xf16>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x16xf16>) outs(%e2 : tensor<8x16xf32>) {
  ^bb0(%x: f16, %o: f32):
    %w = arith.extf %x : f16 to f32
    %m = arith.mulf %w, %w : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  return %mm, %sq : tensor<8x4xf32>, tensor<8x16xf32>
}

// -----

// A convolution of a zero-padded f16 image: the padding is redone on the
// wide copy (amp-cpu-library-gemm reads padded copies in place).
// CHECK-LABEL: func.func @padded_conv
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x6x6xf16>) outs(%{{.*}} : tensor<1x2x6x6xf32>)
// CHECK: %[[P:.*]] = tensor.pad %[[W]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %{{.*}} : f32
// CHECK: } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
// CHECK: linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<1x2x8x8xf32>, tensor<3x2x3x3xf32>)
func.func @padded_conv(%x: tensor<1x2x6x6xf16>, %w: tensor<3x2x3x3xf16>, %y: tensor<1x3x6x6xf32>) -> tensor<1x3x6x6xf32> {
  %zero = arith.constant 0.0 : f16
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f16
  } : tensor<1x2x6x6xf16> to tensor<1x2x8x8xf16>
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : tensor<1x2x8x8xf16>, tensor<3x2x3x3xf16>) outs(%y : tensor<1x3x6x6xf32>) -> tensor<1x3x6x6xf32>
  return %r : tensor<1x3x6x6xf32>
}

// -----

// bf16 and f16-accumulating contractions are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK: linalg.matmul ins(%{{.*}} : tensor<8x8xbf16>, tensor<8x8xbf16>)
// CHECK: linalg.matmul ins(%{{.*}} : tensor<8x8xf16>, tensor<8x8xf16>) outs(%{{.*}} : tensor<8x8xf16>)
func.func @untouched(%a: tensor<8x8xbf16>, %c: tensor<8x8xf32>, %h: tensor<8x8xf16>, %hc: tensor<8x8xf16>) -> (tensor<8x8xf32>, tensor<8x8xf16>) {
  %0 = linalg.matmul ins(%a, %a : tensor<8x8xbf16>, tensor<8x8xbf16>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %1 = linalg.matmul ins(%h, %h : tensor<8x8xf16>, tensor<8x8xf16>) outs(%hc : tensor<8x8xf16>) -> tensor<8x8xf16>
  return %0, %1 : tensor<8x8xf32>, tensor<8x8xf16>
}
