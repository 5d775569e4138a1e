// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-parallel-loops))' | FileCheck %s
// RUN: amp-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(amp-cpu-parallel-loops{min-iterations=1}))' | FileCheck %s --check-prefix=ALL

// A big elementwise nest: the rows go over the threads, the columns stay an
// inner sequential loop (vectorized by LLVM over contiguous elements).
// CHECK-LABEL: func.func @rows
// CHECK: scf.parallel (%[[I:.*]]) = (%c0) to (%c1024) step (%c1) {
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %c1024 step %c1 {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]]]
func.func @rows(%a: memref<1024x1024xf32>, %b: memref<1024x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1024, %c1024) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<1024x1024xf32>
    memref.store %x, %b[%i, %j] : memref<1024x1024xf32>
    scf.reduce
  }
  return
}

// -----

// Small loops, and parallel loops inside a sequential one (a reduction over
// the batch outside a parallel channel loop), are sequential: no thread team
// is forked per outer iteration. With min-iterations=1 the small loop stays
// parallel, the nested one never does.
// CHECK-LABEL: func.func @small_and_nested
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: scf.parallel
// ALL-LABEL: func.func @small_and_nested
// ALL: scf.parallel
// ALL: scf.for
// ALL-NOT: scf.parallel
func.func @small_and_nested(%a: memref<64xf32>, %b: memref<64xf32>, %m: memref<4096x512xf32>, %s: memref<512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %x = memref.load %a[%i] : memref<64xf32>
    memref.store %x, %b[%i] : memref<64xf32>
    scf.reduce
  }
  scf.for %n = %c0 to %c4096 step %c1 {
    scf.parallel (%k) = (%c0) to (%c512) step (%c1) {
      %x = memref.load %m[%n, %k] : memref<4096x512xf32>
      %y = memref.load %s[%k] : memref<512xf32>
      %z = arith.addf %x, %y : f32
      memref.store %z, %s[%k] : memref<512xf32>
      scf.reduce
    }
  }
  return
}
