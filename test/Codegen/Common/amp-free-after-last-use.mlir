// RUN: amp-opt %s -split-input-file -amp-free-after-last-use | FileCheck %s

// Temporaries freed at the end of the step move up to their last use: the
// first right after the op that reads it, the second after the library
// call that takes its address. Each allocation moves down to its first use.
// CHECK-LABEL: func @step
// CHECK: %[[T:.+]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT: linalg.copy ins(%{{.+}} : memref<64xf32>) outs(%[[T]] : memref<64xf32>)
// CHECK-NEXT: %[[U:.+]] = memref.alloc() : memref<64xf32>
// CHECK-NEXT: linalg.copy ins(%[[T]] : memref<64xf32>) outs(%[[U]] : memref<64xf32>)
// CHECK-NEXT: memref.dealloc %[[T]]
// CHECK: call @library
// CHECK-NEXT: memref.dealloc %[[U]]
// CHECK: linalg.copy
// CHECK-NEXT: return
func.func private @library(index)
func.func @step(%in: memref<64xf32>, %out: memref<64xf32>) {
  %t = memref.alloc() : memref<64xf32>
  %u = memref.alloc() : memref<64xf32>
  linalg.copy ins(%in : memref<64xf32>) outs(%t : memref<64xf32>)
  linalg.copy ins(%t : memref<64xf32>) outs(%u : memref<64xf32>)
  %p = memref.extract_aligned_pointer_as_index %u : memref<64xf32> -> index
  %c4 = arith.constant 4 : index
  %q = arith.addi %p, %c4 : index
  func.call @library(%q) : (index) -> ()
  linalg.copy ins(%in : memref<64xf32>) outs(%out : memref<64xf32>)
  memref.dealloc %t : memref<64xf32>
  memref.dealloc %u : memref<64xf32>
  return
}

// -----

// Used through a view, the buffer lives until the view's last use; passed
// through an op that returns a buffer (which may alias it), it stays freed
// at the end.
// CHECK-LABEL: func @views_and_escapes
// CHECK: %[[V:.+]] = memref.subview
// CHECK: linalg.copy ins(%[[V]] : {{.+}}) outs(%{{.+}} : memref<32xf32>)
// CHECK-NEXT: memref.dealloc %{{.+}} : memref<64xf32>
// CHECK: memref.alloc() : memref<16xf32>
// CHECK-NEXT: scf.if
// CHECK: linalg.copy
// CHECK: memref.dealloc %{{.+}} : memref<16xf32>
// CHECK-NEXT: return
func.func @views_and_escapes(%in: memref<64xf32>, %out: memref<32xf32>, %flag: i1, %other: memref<16xf32>, %out2: memref<16xf32>) {
  %t = memref.alloc() : memref<64xf32>
  linalg.copy ins(%in : memref<64xf32>) outs(%t : memref<64xf32>)
  %v = memref.subview %t[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
  linalg.copy ins(%v : memref<32xf32, strided<[1]>>) outs(%out : memref<32xf32>)
  %s = memref.alloc() : memref<16xf32>
  %r = scf.if %flag -> memref<16xf32> {
    scf.yield %s : memref<16xf32>
  } else {
    scf.yield %other : memref<16xf32>
  }
  linalg.copy ins(%r : memref<16xf32>) outs(%out2 : memref<16xf32>)
  memref.dealloc %t : memref<64xf32>
  memref.dealloc %s : memref<16xf32>
  return
}
