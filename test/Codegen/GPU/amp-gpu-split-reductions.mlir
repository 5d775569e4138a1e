// RUN: amp-opt %s -split-input-file -amp-gpu-split-reductions | FileCheck %s

// acc - sum(x): rows reduce in parallel from 0 (partial sums add), the
// 512 partials in chunks of 256, and the last stage subtracts from acc.
// CHECK-LABEL: func @mean_loss
// CHECK-SAME: %[[ACC:[^:]+]]: tensor<f32>
// CHECK: %[[ROWS:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} {{.*}}outs({{.*}} : tensor<512xf32>)
// CHECK: arith.addf
// CHECK: %[[CHUNKS:.+]] = tensor.expand_shape %[[ROWS]] {{\[\[}}0, 1]] output_shape [2, 256]
// CHECK: %[[PARTIAL:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[CHUNKS]] : tensor<2x256xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[PARTIAL]] : tensor<2xf32>) outs(%[[ACC]] : tensor<f32>)
// CHECK: arith.subf %{{.+}}, %{{.+}} : f32
func.func @mean_loss(%x: tensor<512x64xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<512x64xf32>) outs(%acc : tensor<f32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.subf %o, %v : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Many rows (the cross-entropy of 8192 rows of 1024 logits): thread (a, j)
// reduces 64 rows of column j, so that neighbouring threads read
// neighbouring elements; row (d0) and column (d1) inputs follow the split.
// The [128, 1024] partials are reduced over columns next (1024 threads
// reading neighbouring elements, not 128 threads walking rows), then in
// chunks.
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @cross_entropy_rows
// CHECK-SAME: (%[[P:[^:]+]]: tensor<8192x1024xf32>, %[[S:[^:]+]]: tensor<8192xf32>, %[[W:[^:]+]]: tensor<1024xf32>
// CHECK-DAG: %[[PX:.+]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2]] output_shape [128, 64, 1024]
// CHECK-DAG: %[[SX:.+]] = tensor.expand_shape %[[S]] {{\[\[}}0, 1]] output_shape [128, 64]
// CHECK: %[[PARTIAL:.+]] = linalg.generic {indexing_maps = [#[[X]], #[[ROW]], #[[COL]], #[[OUT]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PX]], %[[SX]], %[[W]] : {{.+}}) outs(%{{.+}} : tensor<128x1024xf32>)
// CHECK: math.log
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[PARTIAL]] : tensor<128x1024xf32>) outs(%{{.+}} : tensor<1024xf32>)
// CHECK: output_shape [4, 256]
// CHECK: arith.subf
func.func @cross_entropy_rows(%p: tensor<8192x1024xf32>, %s: tensor<8192xf32>, %w: tensor<1024xf32>, %acc: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%p, %s, %w : tensor<8192x1024xf32>, tensor<8192xf32>, tensor<1024xf32>) outs(%acc : tensor<f32>) {
    ^bb0(%v: f32, %sum: f32, %weight: f32, %o: f32):
      %l = math.log %sum : f32
      %d = arith.subf %v, %l : f32
      %m = arith.mulf %d, %weight : f32
      %n = arith.subf %o, %m : f32
      linalg.yield %n : f32
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

// A softmax row sum (16 rows of 8192): the row splits as [128, 64] with the
// 64 chunks inner, element 64 k + chunk, so that neighbouring threads read
// neighbouring elements; then the chunks.
// CHECK-LABEL: func @row_sum
// CHECK: tensor.expand_shape %{{.+}} {{\[\[}}0], [1, 2]] output_shape [16, 128, 64]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.+}} : tensor<16x128x64xf32>) outs(%{{.+}} : tensor<64x16xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%{{.+}} : tensor<64x16xf32>)
func.func @row_sum(%x: tensor<16x8192xf32>, %acc: tensor<16xf32>) -> tensor<16xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x8192xf32>) outs(%acc : tensor<16xf32>) {
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
