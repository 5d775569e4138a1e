// RUN: amp-opt %s -split-input-file -amp-gpu-parallel-loops-outer | FileCheck %s

// The column loop (parallel) moves outside the row loop (reduction): the
// input map swaps its dims to keep reading the same elements.
// CHECK-DAG: #[[SWAP:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @column_sum
// CHECK: linalg.generic {indexing_maps = [#[[SWAP]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
func.func @column_sum(%g: memref<32x8xf32>, %acc: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%g : memref<32x8xf32>) outs(%acc : memref<8xf32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.addf %v, %o : f32
      linalg.yield %s : f32
  }
  return
}

// -----

// CHECK-LABEL: func @already_outer
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : memref<8x32xf32>)
func.func @already_outer(%x: memref<8x32xf32>, %acc: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x32xf32>) outs(%acc : memref<8xf32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.addf %v, %o : f32
      linalg.yield %s : f32
  }
  return
}
