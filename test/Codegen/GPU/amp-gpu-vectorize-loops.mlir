// RUN: amp-opt %s -split-input-file -amp-gpu-vectorize-loops | FileCheck %s
// RUN: not amp-opt %s -split-input-file -amp-gpu-vectorize-loops=vector-bytes=12 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: amp-gpu-vectorize-loops: vector-bytes must be a power of two from 1 to 64, not 12

// ReLU on bf16: 8 elements (16 bytes) per thread, the constant broadcast.
// The loop counts vectors (512 of them per row, unit step); vector v
// starts at element 8 v.
// CHECK-LABEL: func @relu_bf16
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C512:.+]] = arith.constant 512 : index
// CHECK: scf.parallel (%[[I:.+]], %[[V:.+]]) = ({{.+}}) to (%{{.+}}, %[[C512]]) step (%{{.+}}, %{{.+}})
// CHECK: %[[J:.+]] = arith.muli %[[V]], %[[C8]] : index
// CHECK: %[[X:.+]] = vector.load %{{.+}}[%[[I]], %[[J]]] {alignment = 16 : i64} : memref<64x4096xbf16>, vector<8xbf16>
// CHECK: %[[E:.+]] = arith.extf %[[X]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[Z:.+]] = vector.broadcast %{{.+}} : f32 to vector<8xf32>
// CHECK: arith.maximumf %[[E]], %[[Z]] : vector<8xf32>
// CHECK: vector.store %{{.+}}, %{{.+}}[%[[I]], %[[J]]] {alignment = 16 : i64} : memref<64x4096xbf16>, vector<8xbf16>
func.func @relu_bf16(%in: memref<64x4096xbf16>, %out: memref<64x4096xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c4096) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<64x4096xbf16>
    %e = arith.extf %x : bf16 to f32
    %r = arith.maximumf %e, %zero : f32
    %t = arith.truncf %r : f32 to bf16
    memref.store %t, %out[%i, %j] : memref<64x4096xbf16>
    scf.reduce
  }
  return
}

// -----

// A cast from f32 to bf16: the bf16 side sets the width (8); the f32 load
// of 32 bytes is aligned to 16. A per-row value (indexed by %i alone) and
// a 0-d scalar are loaded once and broadcast.
// CHECK-LABEL: func @scaled_cast
// CHECK: %[[S:.+]] = memref.load %{{.+}}[] : memref<f32>
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<32x1024xf32>, vector<8xf32>
// CHECK: %[[R:.+]] = memref.load %{{.+}}[%{{.+}}] : memref<32xf32>
// CHECK: vector.broadcast %[[R]] : f32 to vector<8xf32>
// CHECK: vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK: arith.truncf %{{.+}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.+}} : memref<32x1024xbf16>, vector<8xbf16>
func.func @scaled_cast(%in: memref<32x1024xf32>, %rows: memref<32xf32>, %scale: memref<f32>, %out: memref<32x1024xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c1024 = arith.constant 1024 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c32, %c1024) step (%c1, %c1) {
    %s = memref.load %scale[] : memref<f32>
    %x = memref.load %in[%i, %j] : memref<32x1024xf32>
    %r = memref.load %rows[%i] : memref<32xf32>
    %a = arith.subf %x, %r : f32
    %m = arith.mulf %a, %s : f32
    %t = arith.truncf %m : f32 to bf16
    memref.store %t, %out[%i, %j] : memref<32x1024xbf16>
    scf.reduce
  }
  return
}

// -----

// Loops that do not qualify stay as they are: a row length that the width
// does not divide, a transposed read, a nested (reduction) loop, a view at
// an offset.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: vector.
func.func @left_alone(%a: memref<32x10xf32>, %b: memref<32x10xf32>, %t: memref<64x64xf32>, %u: memref<64x64xf32>,
                      %big: memref<64x72xf32>, %v: memref<64x64xf32>, %sum: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c32, %c10) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<32x10xf32>
    memref.store %x, %b[%i, %j] : memref<32x10xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %x = memref.load %t[%j, %i] : memref<64x64xf32>
    memref.store %x, %u[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %j = %c0 to %c64 step %c1 {
      %x = memref.load %t[%i, %j] : memref<64x64xf32>
      %s = memref.load %sum[%i] : memref<64xf32>
      %n = arith.addf %x, %s : f32
      memref.store %n, %sum[%i] : memref<64xf32>
    }
    scf.reduce
  }
  %view = memref.subview %big[0, 1] [64, 64] [1, 1] : memref<64x72xf32> to memref<64x64xf32, strided<[72, 1], offset: 1>>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %x = memref.load %view[%i, %j] : memref<64x64xf32, strided<[72, 1], offset: 1>>
    memref.store %x, %v[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  return
}

// -----

// With thread-block tiling after it: the loop counts vectors, so the bound
// guard compares the vector index with the vector count (8), not a scaled
// index with 32. (Upstream tiling of a loop stepping by the width scaled the
// guard's index twice: only the first quarter of the vectors was written.)
// RUN: amp-opt %s -split-input-file -amp-gpu-vectorize-loops -amp-gpu-tile-parallel-loops | FileCheck %s --check-prefix=TILED
// CHECK-LABEL: func @fill_32
// TILED-LABEL: func @fill_32
// TILED-DAG: %[[C8:.+]] = arith.constant 8 : index
// TILED-DAG: %[[C4:.+]] = arith.constant 4 : index
// TILED: scf.parallel (%[[BLOCK:.+]]) = (%{{.+}}) to (%[[C8]]) step
// TILED: scf.parallel (%[[THREAD:.+]]) =
// TILED: %[[V:.+]] = arith.addi %[[THREAD]], %[[BLOCK]] : index
// TILED: arith.cmpi ult, %{{.+}}, %[[C8]] : index
// TILED: scf.if
// TILED: %[[FIRST:.+]] = arith.muli %[[V]], %[[C4]] : index
// TILED: vector.store %{{.+}}, %{{.+}}[%[[FIRST]]] {alignment = 16 : i64} : memref<32xf32>, vector<4xf32>
func.func @fill_32(%out: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c32) step (%c1) {
    memref.store %zero, %out[%i] : memref<32xf32>
    scf.reduce
  }
  return
}
