// RUN: amp-opt %s -pass-pipeline='builtin.module(func.func(amp-fuse-elementwise))' | FileCheck %s

// An elementwise producer (the ReLU-backward mask) fuses into an
// elementwise consumer, but not into a contraction: the matmul stays a
// matmul for the libraries.
// CHECK-LABEL: func.func @keeps_contractions
// CHECK: %[[MASKED:.*]] = linalg.generic
// CHECK: arith.select
// CHECK: linalg.matmul ins(%[[MASKED]], %{{.*}} : tensor<8x16xf32>, tensor<16x4xf32>)
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK-NOT: linalg.generic
func.func @keeps_contractions(%g: tensor<8x16xf32>, %act: tensor<8x16xf32>, %w: tensor<16x4xf32>,
                              %acc: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %masked = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>,
                                             affine_map<(i, j) -> (i, j)>],
                            iterator_types = ["parallel", "parallel"]}
      ins(%g, %act : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%x: f32, %a: f32, %o: f32):
    %p = arith.cmpf ogt, %a, %zero : f32
    %r = arith.select %p, %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  %mm = linalg.matmul ins(%masked, %w : tensor<8x16xf32>, tensor<16x4xf32>) outs(%acc : tensor<8x4xf32>) -> tensor<8x4xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %x1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x4xf32>) outs(%e2 : tensor<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<8x4xf32>
  %x2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%x1 : tensor<8x4xf32>) outs(%e2 : tensor<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = math.exp %x : f32
    linalg.yield %n : f32
  } -> tensor<8x4xf32>
  return %x2 : tensor<8x4xf32>
}
