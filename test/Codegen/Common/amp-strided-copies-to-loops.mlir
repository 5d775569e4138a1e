// RUN: amp-opt %s -split-input-file -amp-strided-copies-to-loops | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-strided-copies-to-loops=keep-contiguous=false | FileCheck %s --check-prefix=IDENTITY

// A copy into a non-contiguous view becomes linalg.copy (loops, no runtime call).
// CHECK-LABEL: func.func @into_view(
// CHECK-SAME:    %[[SRC:.+]]: memref<2x3xf32>, %[[DST:.+]]: memref<2x4xf32>)
// CHECK:         %[[VIEW:.+]] = memref.subview %[[DST]][0, 1] [2, 3] [1, 1]
// CHECK:         linalg.copy ins(%[[SRC]] : memref<2x3xf32>) outs(%[[VIEW]] : memref<2x3xf32, strided<[4, 1], offset: 1>>)
// CHECK-NOT:     memref.copy
func.func @into_view(%src: memref<2x3xf32>, %dst: memref<2x4xf32>) {
  %view = memref.subview %dst[0, 1] [2, 3] [1, 1] : memref<2x4xf32> to memref<2x3xf32, strided<[4, 1], offset: 1>>
  memref.copy %src, %view : memref<2x3xf32> to memref<2x3xf32, strided<[4, 1], offset: 1>>
  return
}

// -----

// Copies with a non-unit stride too.
// CHECK-LABEL: func.func @spread(
// CHECK:         linalg.copy
// CHECK-NOT:     memref.copy
func.func @spread(%src: memref<3xf32>, %dst: memref<7xf32>) {
  %view = memref.subview %dst[1] [3] [2] : memref<7xf32> to memref<3xf32, strided<[2], offset: 1>>
  memref.copy %src, %view : memref<3xf32> to memref<3xf32, strided<[2], offset: 1>>
  return
}

// -----

// Contiguous copies stay, also into a block of whole rows: they lower to
// llvm.memcpy. gpu.memcpy takes identity layouts only (keep-contiguous=false).
// CHECK-LABEL: func.func @contiguous(
// CHECK:         memref.copy
// CHECK:         memref.copy
// CHECK-NOT:     linalg.copy
// IDENTITY-LABEL: func.func @contiguous(
// IDENTITY:         memref.copy %{{.+}}, %{{.+}} : memref<2x4xf32> to memref<2x4xf32>
// IDENTITY:         linalg.copy ins(%{{.+}} : memref<2x4xf32>) outs(%{{.+}} : memref<2x4xf32, strided<[4, 1], offset: 4>>)
func.func @contiguous(%src: memref<2x4xf32>, %dst: memref<2x4xf32>, %rows: memref<3x4xf32>) {
  memref.copy %src, %dst : memref<2x4xf32> to memref<2x4xf32>
  %view = memref.subview %rows[1, 0] [2, 4] [1, 1] : memref<3x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 4>>
  memref.copy %src, %view : memref<2x4xf32> to memref<2x4xf32, strided<[4, 1], offset: 4>>
  return
}
