// RUN: amp-opt %s -split-input-file -amp-gpu-tile-parallel-loops -canonicalize | FileCheck %s

// 1-D loops get whole blocks of 256 threads; the last, partial block is
// guarded (canonicalization merges the block and thread loops for display).
// CHECK-LABEL: func @one_dimensional
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c1000, %c256) step (%c256, %c1)
// CHECK: arith.cmpi ult, %{{.+}}, %c1000 : index
// CHECK: scf.if
func.func @one_dimensional(%x: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 1000 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<1000xf32>
    memref.store %v, %x[%i] : memref<1000xf32>
    scf.reduce
  }
  return
}

// -----

// 10 columns: 16 threads across (the next power of two), 16 rows per block.
// CHECK-LABEL: func @narrow_rows
// CHECK: scf.parallel (%{{.+}}, %{{.+}}, %{{.+}}) = (%c0, %c0, %c0) to (%c256, %c16, %c16) step (%c16, %c1, %c1)
// CHECK: arith.cmpi ult, %{{.+}}, %c10 : index
func.func @narrow_rows(%x: memref<256x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant 256 : index
  %n = arith.constant 10 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<256x10xf32>
    memref.store %v, %x[%i, %j] : memref<256x10xf32>
    scf.reduce
  }
  return
}


// -----

// A bare cf.assert in a loop body (an embedding's bounds check) goes under an
// scf.if of its negated condition, where convert-parallel-loops-to-gpu takes
// it, whether or not the tiles divide the loop (here they do: no guard).
// CHECK-LABEL: func @assert_in_body
// (Canonicalization folds the negation into the comparison.)
// CHECK:         %[[BAD:.+]] = arith.cmpi sge
// CHECK:         scf.if %[[BAD]] {
// CHECK-NEXT:      cf.assert %false, "index out of range"
// CHECK-NEXT:    }
// CHECK:         memref.load
func.func @assert_in_body(%ids: memref<256xi64>, %x: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 256 : index
  %c100 = arith.constant 100 : i64
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %id = memref.load %ids[%i] : memref<256xi64>
    %ok = arith.cmpi slt, %id, %c100 : i64
    cf.assert %ok, "index out of range"
    %v = memref.load %x[%i] : memref<256xf32>
    memref.store %v, %x[%i] : memref<256xf32>
    scf.reduce
  }
  return
}
