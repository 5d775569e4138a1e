// RUN: amp-opt %s -split-input-file -amp-read-only-arguments | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-read-only-arguments -one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

// An argument used as a matmul's outs is read-only: bufferization copies it
// into a new buffer instead of accumulating into the caller's array.
// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME:    %{{.*}}: tensor<4x8xf32> {bufferization.writable = false}
// CHECK-SAME:    %{{.*}}: tensor<8x4xf32> {bufferization.writable = false}
// CHECK-SAME:    %{{.*}}: tensor<4x4xf32> {bufferization.writable = false}
// BUF-LABEL: func.func @accumulate(
// BUF-SAME:    %[[A:.*]]: memref<4x8xf32{{.*}}>, %[[B:.*]]: memref<8x4xf32{{.*}}>, %[[C:.*]]: memref<4x4xf32{{.*}}>)
// BUF:         %[[NEW:.*]] = memref.alloc() {{.*}} : memref<4x4xf32>
// BUF:         memref.copy %[[C]], %[[NEW]]
// BUF:         linalg.matmul ins(%[[A]], %[[B]] : {{.*}}) outs(%[[NEW]] : memref<4x4xf32>)
// BUF:         return %[[NEW]]
func.func @accumulate(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %d = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %d : tensor<4x4xf32>
}

// -----

// A donated buffer (writable = true, set by the caller) stays writable;
// scalars, private functions and declarations are left alone.
// CHECK-LABEL: func.func @donated(
// CHECK-SAME:    %{{.*}}: tensor<4xf32> {bufferization.writable = true}
// CHECK-SAME:    %{{.*}}: f32)
// BUF-LABEL: func.func @donated(
// BUF-SAME:    %[[X:.*]]: memref<4xf32{{.*}}>
// BUF-NOT:     memref.alloc
// BUF:         linalg.fill ins(%{{.*}} : f32) outs(%[[X]]
func.func @donated(%x: tensor<4xf32> {bufferization.writable = true}, %s: f32) -> tensor<4xf32> {
  %y = linalg.fill ins(%s : f32) outs(%x : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
// CHECK-LABEL: func.func private @helper(
// CHECK-NOT:     bufferization.writable
// CHECK-SAME:    {
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
// CHECK-LABEL: func.func private @external(
// CHECK-NOT:     bufferization.writable
func.func private @external(%x: tensor<4xf32>) -> tensor<4xf32>
