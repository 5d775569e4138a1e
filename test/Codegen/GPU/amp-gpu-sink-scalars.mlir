// RUN: amp-opt %s -split-input-file -amp-gpu-sink-scalars | FileCheck %s

#id = affine_map<(d0) -> (d0)>
// The step counter becomes a broadcast input; the comparison is recomputed
// in the payload (the host copy is dead and canonicalization drops it).
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[BCAST:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func @step_counter_sinks
// CHECK-SAME: (%[[G:[^:]+]]: tensor<8xf32>, %[[BUF:[^:]+]]: tensor<8xf32>, %[[STEP:[^:]+]]: tensor<i64>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[BCAST]], #[[ID]]]
// CHECK-SAME: ins(%[[G]], %[[BUF]], %[[STEP]] : tensor<8xf32>, tensor<8xf32>, tensor<i64>)
// CHECK: ^bb0(%[[A:[^:]+]]: f32, %[[B:[^:]+]]: f32, %[[S:[^:]+]]: i64, %{{.+}}: f32):
// CHECK: %[[FIRST:.+]] = arith.cmpi eq, %[[S]], %{{.+}} : i64
// CHECK: arith.select %[[FIRST]], %[[A]], %[[B]] : f32
func.func @step_counter_sinks(%g: tensor<8xf32>, %buf: tensor<8xf32>, %step: tensor<i64>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : i64
  %s = tensor.extract %step[] : tensor<i64>
  %first = arith.cmpi eq, %s, %c0 : i64
  %e = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%g, %buf : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %v = arith.select %first, %a, %b : f32
      linalg.yield %v : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// A whole-tensor select picks elements on the device, not a buffer on the host.
// CHECK-LABEL: func @tensor_select_on_a_flag
// CHECK-SAME: (%[[OK:[^:]+]]: tensor<i1>, %[[NEW:[^:]+]]: tensor<4x4xf32>, %[[OLD:[^:]+]]: tensor<4x4xf32>)
// CHECK-NOT: arith.select {{.*}} : tensor
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[NEW]], %[[OLD]], %[[OK]] : tensor<4x4xf32>, tensor<4x4xf32>, tensor<i1>)
// CHECK: ^bb0(%[[N:[^:]+]]: f32, %[[O:[^:]+]]: f32, %[[F:[^:]+]]: i1, %{{.+}}: f32):
// CHECK: arith.select %[[F]], %[[N]], %[[O]] : f32
func.func @tensor_select_on_a_flag(%ok: tensor<i1>, %new: tensor<4x4xf32>, %old: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %flag = tensor.extract %ok[] : tensor<i1>
  %r = arith.select %flag, %new, %old : tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// Values that do not come from a tensor read stay captured.
// CHECK-LABEL: func @plain_scalars_stay
// CHECK-SAME: %[[LR:[^:]+]]: f32
// CHECK: ins(%{{.+}} : tensor<8xf32>)
// CHECK: arith.mulf %{{.+}}, %[[LR]] : f32
func.func @plain_scalars_stay(%x: tensor<8xf32>, %lr: f32) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%a: f32, %o: f32):
      %v = arith.mulf %a, %lr : f32
      linalg.yield %v : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
