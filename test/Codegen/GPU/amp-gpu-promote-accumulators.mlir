// RUN: amp-opt %s -split-input-file -amp-gpu-promote-accumulators=unroll-factor=1 | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-gpu-promote-accumulators | FileCheck %s --check-prefix=UNROLL

// A row sum per thread: the accumulator is loaded once, carried in a
// register and stored once.
// CHECK-LABEL: func @row_sum
// CHECK: scf.parallel (%[[I:.+]]) =
// CHECK: %[[INIT:.+]] = memref.load %[[OUT:.+]][%[[I]]]
// CHECK: %[[SUM:.+]] = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32)
// CHECK-NOT: memref.store
// CHECK: %[[NEXT:.+]] = arith.addf %{{.+}}, %[[ACC]] : f32
// CHECK: scf.yield %[[NEXT]] : f32
// CHECK: memref.store %[[SUM]], %[[OUT]][%[[I]]]
// By default the loop is also unrolled by 8 (32 steps): eight loads in
// flight per iteration, added in the original order.
// UNROLL-LABEL: func @row_sum
// UNROLL: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C8:.+]] iter_args
// UNROLL-COUNT-8: arith.addf
// UNROLL: scf.yield
func.func @row_sum(%in: memref<8x32xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c32 step %c1 {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %acc = memref.load %out[%i] : memref<8xf32>
      %s = arith.addf %x, %acc : f32
      memref.store %s, %out[%i] : memref<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Two accumulators of one loop (a fused max and sum) are both carried.
// CHECK-LABEL: func @two_accumulators
// CHECK: scf.for {{.+}} iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (f32, f32)
// CHECK-NOT: memref.store
// CHECK: scf.yield
// CHECK-COUNT-2: memref.store
func.func @two_accumulators(%in: memref<8x32xf32>, %max: memref<8xf32>, %sum: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c32 step %c1 {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %m = memref.load %max[%i] : memref<8xf32>
      %m2 = arith.maximumf %x, %m : f32
      memref.store %m2, %max[%i] : memref<8xf32>
      %s = memref.load %sum[%i] : memref<8xf32>
      %s2 = arith.addf %x, %s : f32
      memref.store %s2, %sum[%i] : memref<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// The loop reads another element of the accumulator's buffer (through a
// view): the stores must stay.
// CHECK-LABEL: func @buffer_read_elsewhere
// CHECK: scf.for
// CHECK-NOT: iter_args
// CHECK: memref.store
func.func @buffer_read_elsewhere(%in: memref<8x32xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %view = memref.subview %out[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c32 step %c1 {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %first = memref.load %view[%c0] : memref<4xf32, strided<[1]>>
      %acc = memref.load %out[%i] : memref<8xf32>
      %s = arith.addf %x, %acc : f32
      %t = arith.addf %s, %first : f32
      memref.store %t, %out[%i] : memref<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A store whose index varies with the loop is no accumulator; a loop
// outside any parallel loop (host code) is left alone.
// CHECK-LABEL: func @not_accumulators
// CHECK-NOT: iter_args
// CHECK-COUNT-2: memref.store
func.func @not_accumulators(%in: memref<8x32xf32>, %out: memref<8x32xf32>, %total: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.for %j = %c0 to %c32 step %c1 {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %y = memref.load %out[%i, %j] : memref<8x32xf32>
      %s = arith.addf %x, %y : f32
      memref.store %s, %out[%i, %j] : memref<8x32xf32>
    }
    scf.reduce
  }
  scf.for %j = %c0 to %c32 step %c1 {
    %x = memref.load %in[%c0, %j] : memref<8x32xf32>
    %acc = memref.load %total[] : memref<f32>
    %s = arith.addf %x, %acc : f32
    memref.store %s, %total[] : memref<f32>
  }
  return
}
