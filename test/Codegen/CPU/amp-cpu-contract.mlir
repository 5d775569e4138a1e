// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-contract))' | FileCheck %s

// The multiply-add of a reduction payload may fuse (contract); an
// elementwise payload keeps its flags.
// CHECK-LABEL: func.func @payloads
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: contract
func.func @payloads(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>,
                                        affine_map<(i, j, k) -> (i, j)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<8x16xf32>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<8x4xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%0 : tensor<8x4xf32>) outs(%c : tensor<8x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %x : f32
    linalg.yield %m : f32
  } -> tensor<8x4xf32>
  return %0, %1 : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// After vectorization: the add a reduction of a unit dimension leaves
// around a contracting multiply (through a shape_cast) fuses with it.
// CHECK-LABEL: func.func @vector_tile
// CHECK: arith.mulf {{.*}} fastmath<contract> : vector<8x32x1xf32>
// CHECK: arith.addf {{.*}} fastmath<contract> : vector<8x32xf32>
func.func @vector_tile(%a: vector<8x32x1xf32>, %b: vector<8x32x1xf32>, %acc: vector<8x32xf32>) -> vector<8x32xf32> {
  %m = arith.mulf %a, %b fastmath<contract> : vector<8x32x1xf32>
  %c = vector.shape_cast %m : vector<8x32x1xf32> to vector<8x32xf32>
  %s = arith.addf %acc, %c : vector<8x32xf32>
  return %s : vector<8x32xf32>
}
