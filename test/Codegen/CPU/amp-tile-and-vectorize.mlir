// RUN: amp-opt %s -split-input-file -amp-tile-and-vectorize | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-tile-and-vectorize="tile-sizes=4,16,2" | FileCheck %s --check-prefix=SIZES
// RUN: not amp-opt %s -amp-tile-and-vectorize="tile-sizes=4,16" 2>&1 | FileCheck %s --check-prefix=BAD

// A mixed-precision matmul: 8x32 tiles, f16 loads widened to f32 vectors,
// f32 accumulation.
// CHECK-LABEL: func @matmul_f16
// CHECK: scf.for
// CHECK: scf.for
// The accumulator tile is read once, carried in registers through the
// reduction loop, and written once.
// CHECK: %[[ACC:.+]] = vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK: %[[SUM:.+]] = scf.for {{.*}} iter_args(%[[CARRY:.+]] = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<8x1xf16>, vector<8x1xf16>
// CHECK: arith.extf {{.*}} : vector<{{.*}}xf16> to vector<{{.*}}xf32>
// CHECK: arith.addf %[[CARRY]], {{.*}} : vector<8x32xf32>
// CHECK: vector.transfer_write %[[SUM]]
// CHECK-NOT: linalg.matmul
// SIZES-LABEL: func @matmul_f16
// SIZES: vector.transfer_read {{.*}} : tensor<4x16xf32>, vector<4x16xf32>
// BAD: error: amp-tile-and-vectorize: tile-sizes takes three positive sizes (M, N, K)
func.func @matmul_f16(%a: tensor<64x32xf16>, %b: tensor<32x64xf16>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x32xf16>, tensor<32x64xf16>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// Shapes that do not divide the tiles are masked, not left scalar.
// CHECK-LABEL: func @ragged
// CHECK-NOT: linalg.matmul
// CHECK: vector.transfer_read
// CHECK-LABEL: func @batched
// CHECK-NOT: linalg.batch_matmul
// CHECK: vector.transfer_write
func.func @ragged(%a: tensor<30x7xf32>, %b: tensor<7x10xf32>, %c: tensor<30x10xf32>) -> tensor<30x10xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<30x7xf32>, tensor<7x10xf32>) outs(%c : tensor<30x10xf32>) -> tensor<30x10xf32>
  return %r : tensor<30x10xf32>
}
func.func @batched(%a: tensor<2x16x8xbf16>, %b: tensor<2x8x32xbf16>, %c: tensor<2x16x32xf32>) -> tensor<2x16x32xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x16x8xbf16>, tensor<2x8x32xbf16>) outs(%c : tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  return %r : tensor<2x16x32xf32>
}

// -----

// linalg.softmax is decomposed into generics on the way.
// CHECK-LABEL: func @softmax
// CHECK-NOT: linalg.softmax
// CHECK: math.exp
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// -----

// An outer product (a reduction of one element, as in the backward of a
// batch-1 layer) stays a plain matmul: its reduction loop would fold away.
// CHECK-LABEL: func @outer_product
// CHECK:         linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<512x1xf32>, tensor<1x10xf32>)
// CHECK-NOT:     vector.
// CHECK-NOT:     __amp_tile_and_vectorize
// CHECK:         return
func.func @outer_product(%a: tensor<512x1xf32>, %b: tensor<1x10xf32>, %c: tensor<512x10xf32>) -> tensor<512x10xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<512x1xf32>, tensor<1x10xf32>) outs(%c : tensor<512x10xf32>) -> tensor<512x10xf32>
  return %r : tensor<512x10xf32>
}
