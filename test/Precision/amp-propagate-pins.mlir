// RUN: amp-opt %s -split-input-file -amp-propagate-pins | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-propagate-pins -inline -amp-autocast="compute-type=bf16" | FileCheck %s --check-prefix=INLINED

// A pinned callee's ops carry the pin themselves, so inlining keeps it.
// CHECK-LABEL: func.func private @head(
// CHECK-NOT:     attributes {amp.precision
// CHECK:         tensor.empty() :
// CHECK:         linalg.fill {amp.precision = "f32"}
// CHECK:         linalg.matmul {amp.precision = "f32"}
// INLINED-LABEL: func.func @caller(
// INLINED:         linalg.matmul {amp.precision = "f32"} ins(%{{.+}}, %{{.+}} : tensor<4x3xf32>, tensor<3x5xf32>)
func.func private @head(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>) -> tensor<4x5xf32> attributes {amp.precision = "f32"} {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  %m = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%f : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %m : tensor<4x5xf32>
}
func.func @caller(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %m = func.call @head(%x, %w) : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %m : tensor<4x5xf32>
}

// -----

// Inner scopes and ops keep their own pins; payloads are left alone.
// CHECK-LABEL: func.func @nested(
// CHECK:         scf.execute_region
// CHECK:           linalg.generic {{.*}} attrs = {amp.precision = "f16"}
// CHECK:             arith.addf %{{.+}}, %{{.+}} : f32
// CHECK:         }
// CHECK-NOT:     amp.precision = "f32"}
// CHECK:         linalg.generic {{.*}} attrs = {amp.precision = "f32"}
// CHECK:           arith.mulf %{{.+}}, %{{.+}} : f32
#id = affine_map<(i) -> (i)>
func.func @nested(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) attributes {amp.precision = "f32"} {
  %e = tensor.empty() : tensor<4xf32>
  %r = scf.execute_region -> tensor<4xf32> {
    %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%v: f32, %o: f32):
      %s = arith.addf %v, %v : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    scf.yield %a : tensor<4xf32>
  } {amp.precision = "f16"}
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = arith.mulf %v, %v : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  return %r, %m : tensor<4xf32>, tensor<4xf32>
}

// -----

// A scope with nothing to pin keeps its pin (autocast then warns about it).
// CHECK-LABEL: func.func @empty(
// CHECK-SAME:    attributes {amp.precision = "f32"}
func.func @empty(%x: tensor<4xf32>) -> tensor<4xf32> attributes {amp.precision = "f32"} {
  return %x : tensor<4xf32>
}
