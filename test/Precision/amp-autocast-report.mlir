// RUN: amp-opt %s -amp-autocast="report=%t.json" -o /dev/null
// RUN: FileCheck %s --input-file=%t.json

// The decision record: a summary, then one entry per classified op with its
// location, class, final precision and the rule that decided it.

// CHECK: "pass": "amp-autocast"
// CHECK: "compute_type": "f16"
// CHECK: "accumulate_type": "f32"
// CHECK: "summary": {
// CHECK-NEXT: "ops": 4,
// CHECK-NEXT: "lowered": 3,
// CHECK-NEXT: "casts_inserted": 3,
// CHECK-NEXT: "allow": 2,
// CHECK-NEXT: "deny": 1,
// CHECK-NEXT: "infer": 1,
// CHECK-NEXT: "clear": 0,
// CHECK-NEXT: "unknown": 0
// CHECK: "function": "report"
// CHECK-NEXT: "loc": "{{.*}}amp-autocast-report.mlir:[[@LINE+21]]:8"
// CHECK-NEXT: "op": "linalg.matmul"
// CHECK-NEXT: "class": "allow"
// CHECK-NEXT: "pinned": false
// CHECK-NEXT: "precision": "f16"
// CHECK-NEXT: "rule": "allow list entry 'linalg.matmul'"
// CHECK-NEXT: "pass": "forward"
// CHECK-NEXT: "shapes": [
// CHECK-NEXT:   [
// CHECK-NEXT:     4,
// CHECK-NEXT:     4
// CHECK-NEXT:   ]
// CHECK-NEXT: ]
// CHECK: "op": "arith.addf"
// CHECK: "precision": "f16"
// CHECK-NEXT: "rule": "infer list entry 'arith.addf'; between low-precision ops"
// CHECK: "op": "linalg.matmul"
// CHECK: "op": "math.exp"
// CHECK-NEXT: "class": "deny"
// CHECK: "precision": "f32"
func.func @report(%x: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%x, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%x : tensor<4x4xf32>) -> tensor<4x4xf32>
  %a = arith.addf %m, %b : tensor<4x4xf32>
  %m2 = linalg.matmul ins(%a, %x : tensor<4x4xf32>, tensor<4x4xf32>) outs(%x : tensor<4x4xf32>) -> tensor<4x4xf32>
  %e = math.exp %m2 : tensor<4x4xf32>
  return %e : tensor<4x4xf32>
}
