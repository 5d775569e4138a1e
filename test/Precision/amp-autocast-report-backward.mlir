// RUN: amp-opt %s --amp-differentiate="loss=mse params=1,2" --amp-autocast="compute-type=bf16 report=%t.json" -o /dev/null
// RUN: FileCheck %s --input-file=%t.json

// The backward amp-differentiate builds is marked in the record: each
// backward op names the forward op it is the adjoint of, at that op's
// location; a pin on a forward op holds for its adjoints (PyTorch runs an
// op's backward in the precision the op ran in).
// CHECK:      "function": "f_train_step"
// CHECK:      "loc": "{{.*}}amp-autocast-report-backward.mlir:[[FWD1:[0-9]+]]:8"
// CHECK-NEXT: "op": "linalg.matmul"
// CHECK-NEXT: "class": "deny"
// CHECK-NEXT: "pinned": true
// CHECK-NEXT: "precision": "f32"
// CHECK-NEXT: "rule": "pinned to f32 by amp.precision"
// CHECK-NEXT: "pass": "forward"
// CHECK:      "op": "linalg.matmul"
// CHECK-NEXT: "class": "allow"
// CHECK:      "pass": "forward"
// The loss gradient depends on the seed: backward, built by the loss.
// CHECK:      "op": "linalg.generic"
// CHECK:      "op": "linalg.generic"
// CHECK:      "pass": "backward"
// CHECK-NEXT: "shapes"
// The unpinned matmul's two adjoints run in bf16.
// CHECK:      "op": "linalg.matmul"
// CHECK-NEXT: "class": "allow"
// CHECK-NEXT: "pinned": false
// CHECK-NEXT: "precision": "bf16"
// CHECK-NEXT: "rule": "allow list entry 'linalg.matmul'"
// CHECK-NEXT: "pass": "backward"
// CHECK-NEXT: "adjoint_of": "linalg.matmul"
// CHECK:      "op": "linalg.matmul"
// CHECK:      "precision": "bf16"
// CHECK:      "adjoint_of": "linalg.matmul"
// The pinned matmul's weight gradient runs in f32, pinned like its forward,
// located at the forward op.
// CHECK:      "loc": "{{.*}}amp-autocast-report-backward.mlir:[[FWD1]]:8"
// CHECK-NEXT: "op": "linalg.transpose"
// CHECK:      "op": "linalg.matmul"
// CHECK-NEXT: "class": "deny"
// CHECK-NEXT: "pinned": true
// CHECK-NEXT: "precision": "f32"
// CHECK-NEXT: "rule": "pinned to f32 by amp.precision"
// CHECK-NEXT: "pass": "backward"
// CHECK-NEXT: "adjoint_of": "linalg.matmul"
// CHECK-NEXT: "shapes": [
// CHECK-NEXT:   [
// CHECK-NEXT:     16,
// CHECK-NEXT:     32
func.func @f(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x4xf32>) -> tensor<8x4xf32> {
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8x32xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<8x32xf32>) -> tensor<8x32xf32>
  %h = linalg.matmul {amp.precision = "f32"} ins(%x, %w1 : tensor<8x16xf32>, tensor<16x32xf32>) outs(%f1 : tensor<8x32xf32>) -> tensor<8x32xf32>
  %e2 = tensor.empty() : tensor<8x4xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<8x32xf32>, tensor<32x4xf32>) outs(%f2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
