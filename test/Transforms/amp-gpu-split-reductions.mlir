// RUN: amp-opt %s -split-input-file -amp-gpu-split-reductions | FileCheck %s

// acc - sum(x): rows reduce in parallel from 0 (partial sums add), the
// 1024 partials in chunks of 256, and the last stage subtracts from acc.
// CHECK-LABEL: func @mean_loss
// CHECK-SAME: %[[ACC:[^:]+]]: tensor<f32>
// CHECK: %[[ROWS:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} {{.*}}outs({{.*}} : tensor<1024xf32>)
// CHECK: arith.addf
// CHECK: %[[CHUNKS:.+]] = tensor.expand_shape %[[ROWS]] {{\[\[}}0, 1]] output_shape [4, 256]
// CHECK: %[[PARTIAL:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[CHUNKS]] : tensor<4x256xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[PARTIAL]] : tensor<4xf32>) outs(%[[ACC]] : tensor<f32>)
// CHECK: arith.subf %{{.+}}, %{{.+}} : f32
func.func @mean_loss(%x: tensor<1024x64xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<1024x64xf32>) outs(%acc : tensor<f32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.subf %o, %v : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// The loss scaler's all-finite flag: "and" starts from true.
// CHECK-LABEL: func @all_finite_flag
// CHECK: %[[TRUE:.+]] = arith.constant true
// CHECK: linalg.fill ins(%[[TRUE]] : i1) outs(%{{.+}} : tensor<64xi1>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]}
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]}
// CHECK: arith.andi
func.func @all_finite_flag(%x: tensor<64x8xf32>, %acc: tensor<i1>) -> tensor<i1> {
  %inf = arith.constant 0x7F800000 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<64x8xf32>) outs(%acc : tensor<i1>) {
    ^bb0(%v: f32, %o: i1):
      %a = math.absf %v : f32
      %f = arith.cmpf olt, %a, %inf : f32
      %s = arith.andi %o, %f : i1
      linalg.yield %s : i1
  } -> tensor<i1>
  return %r : tensor<i1>
}

// -----

// 16 columns summed over 8192 rows: 64 parallel chunks of 128 rows first
// (upstream splitReduction), then the chunks.
// CHECK-LABEL: func @bias_gradient
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0, 1], [2]] output_shape [64, 128, 16]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%{{.+}} : tensor<64x16xf32>)
func.func @bias_gradient(%g: tensor<8192x16xf32>, %acc: tensor<16xf32>) -> tensor<16xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%g : tensor<8192x16xf32>) outs(%acc : tensor<16xf32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.addf %v, %o : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  return %r : tensor<16xf32>
}

// -----

// An accumulator used twice has no recognizable combiner: left alone.
// CHECK-LABEL: func @unknown_combiner
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]}
// CHECK-NOT: linalg.generic
func.func @unknown_combiner(%x: tensor<64x8xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<64x8xf32>) outs(%acc : tensor<f32>) {
    ^bb0(%v: f32, %o: f32):
      %m = arith.mulf %o, %o : f32
      %s = arith.addf %m, %v : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
