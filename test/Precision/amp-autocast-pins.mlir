// RUN: amp-opt %s -split-input-file -amp-autocast="compute-type=bf16" -verify-diagnostics | FileCheck %s

// A pin on a function holds for every op inside: the region form of
// torch.autocast(enabled=False).
// CHECK-LABEL: func.func @pinned_function
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK-NOT: bf16
func.func @pinned_function(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>) -> tensor<8x8xf32>
    attributes {amp.precision = "f32"} {
  %c = tensor.empty() : tensor<8x8xf32>
  %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %m : tensor<8x8xf32>
}

// -----

// A pin on a region-holding op holds inside it; an op's own pin wins over
// its region's.
// CHECK-LABEL: func.func @pinned_region
// CHECK: scf.execute_region
// CHECK:   linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK:   linalg.matmul {amp.precision = "f16"} ins(%{{.+}}, %{{.+}} : tensor<8x8xf16>, tensor<8x8xf16>)
// CHECK: } {amp.precision = "f32"}
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<8x8xbf16>, tensor<8x8xbf16>)
func.func @pinned_region(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) {
  %c = tensor.empty() : tensor<8x8xf32>
  %r:2 = scf.execute_region -> (tensor<8x8xf32>, tensor<8x8xf32>) {
    %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
    %h = linalg.matmul {amp.precision = "f16"} ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
    scf.yield %m, %h : tensor<8x8xf32>, tensor<8x8xf32>
  } {amp.precision = "f32"}
  %o = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r#0, %r#1, %o : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// Pins that decide nothing are reported where they are.
func.func @idle_pins(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-warning @+1 {{amp-autocast: the amp.precision pin on 'tensor.empty' affects nothing: autocast decides the precision of ops with f32 operands and results (a linalg op's payload goes with the linalg op), and no such op is here}}
  %c = tensor.empty() {amp.precision = "f32"} : tensor<8x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) {
    ^bb0(%a: f32, %o: f32):
      // expected-warning @+1 {{the amp.precision pin on 'arith.mulf' affects nothing}}
      %m = arith.mulf %a, %a {amp.precision = "f32"} : f32
      linalg.yield %m : f32
  } -> tensor<8x8xf32>
  // expected-warning @+1 {{the amp.precision pin on 'scf.execute_region' affects nothing}}
  %r = scf.execute_region -> tensor<8x8xf32> {
    scf.yield %g : tensor<8x8xf32>
  } {amp.precision = "bf16"}
  return %r : tensor<8x8xf32>
}
