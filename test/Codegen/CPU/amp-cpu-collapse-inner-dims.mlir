// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-collapse-inner-dims))' | FileCheck %s
// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-collapse-inner-dims{min-inner=4}))' | FileCheck %s --check-prefix=FOUR

// The SGD update of a 3x3 convolution weight: the two 3-long inner loops
// and the 512 input channels merge into one contiguous loop of 4608; the
// output channels stay a dimension of their own.
// CHECK-LABEL: func.func @sgd_conv_weight
// CHECK-DAG: memref.collapse_shape %arg0 {{\[}}[0], [1, 2, 3]] : memref<512x512x3x3xf32> into memref<512x4608xf32>
// CHECK-DAG: memref.collapse_shape %arg2 {{\[}}[0], [1, 2, 3]] : memref<512x512x3x3xf32> into memref<512x4608xf32>
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: memref<512x4608xf32>, memref<512x4608xf32>) outs(%{{.*}} : memref<512x4608xf32>)
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
// With min-inner=4 only the 3x3 merges (9 >= 4).
// FOUR-LABEL: func.func @sgd_conv_weight
// FOUR: memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<512x512x3x3xf32> into memref<512x512x9xf32>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @sgd_conv_weight(%w: memref<512x512x3x3xf32>, %g: memref<512x512x3x3xf32>, %out: memref<512x512x3x3xf32>) {
  %lr = arith.constant 1.0e-3 : f32
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w, %g : memref<512x512x3x3xf32>, memref<512x512x3x3xf32>) outs(%out : memref<512x512x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.mulf %b, %lr : f32
    %r = arith.subf %a, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A per-channel broadcast (batch norm's scale): the spatial dimensions
// merge, the channel map (d1) does not hold them and stays as it is.
// CHECK-LABEL: func.func @channel_broadcast
// CHECK-DAG: memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<16x64x8x8xf32> into memref<16x64x64xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %arg1 : memref<16x64x64xf32>, memref<64xf32>)
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d1)>
func.func @channel_broadcast(%x: memref<16x64x8x8xf32>, %scale: memref<64xf32>, %y: memref<16x64x8x8xf32>) {
  linalg.generic {indexing_maps = [#x, #c, #x], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %scale : memref<16x64x8x8xf32>, memref<64xf32>) outs(%y : memref<16x64x8x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Batch statistics over a 2x2 map: the two spatial reductions merge (4
// long), the parallel channel dimension never joins a reduction.
// CHECK-LABEL: func.func @channel_sum
// CHECK: memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<16x512x2x2xf32> into memref<16x512x4xf32>
// CHECK: iterator_types = ["reduction", "parallel", "reduction"]
#in = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d1)>
func.func @channel_sum(%x: memref<16x512x2x2xf32>, %sum: memref<512xf32>) {
  linalg.generic {indexing_maps = [#in, #ch], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<16x512x2x2xf32>) outs(%sum : memref<512xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: a transposed operand (its dimensions are not in order), a
// strided view (collapsing it would need a copy), and an innermost loop
// that is already long.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: memref.collapse_shape
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: memref.collapse_shape
#a = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#t = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
func.func @left_alone(%x: memref<8x3x3xf32>, %y: memref<8x3x3xf32>,
                      %v: memref<8x3x3xf32, strided<[18, 3, 1]>>, %long: memref<8x4x256xf32>, %z: memref<8x4x256xf32>) {
  linalg.generic {indexing_maps = [#t, #a], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<8x3x3xf32>) outs(%y : memref<8x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#a, #a], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : memref<8x3x3xf32, strided<[18, 3, 1]>>) outs(%y : memref<8x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#a, #a], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%long : memref<8x4x256xf32>) outs(%z : memref<8x4x256xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// Left alone: a payload that reads its loop indices (merging would
// rebuild them with a division and a remainder per element).
// CHECK-LABEL: func.func @with_index
// CHECK-NOT: memref.collapse_shape
// CHECK: linalg.index 2 : index
#i = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @with_index(%y: memref<4x3x3xf32>) {
  linalg.generic {indexing_maps = [#i], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%y : memref<4x3x3xf32>) {
  ^bb0(%o: f32):
    %k = linalg.index 2 : index
    %ki = arith.index_cast %k : index to i64
    %kf = arith.sitofp %ki : i64 to f32
    linalg.yield %kf : f32
  }
  return
}
