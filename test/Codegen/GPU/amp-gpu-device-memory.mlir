// RUN: amp-opt %s -split-input-file -amp-gpu-device-memory -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func @buffers_move_to_the_device
// CHECK-SAME: (%[[X:[^:]+]]: memref<16xf32>, %[[OUT:[^:]+]]: memref<16xf32>)
// CHECK: %[[T:.+]] = gpu.alloc () : memref<16xf32>
// CHECK: gpu.memcpy %[[T]], %[[X]]
// CHECK: gpu.memcpy %[[OUT]], %[[T]]
// CHECK: gpu.dealloc %[[T]]
// CHECK-NOT: memref.
func.func @buffers_move_to_the_device(%x: memref<16xf32>, %out: memref<16xf32>) {
  %t = memref.alloc() : memref<16xf32>
  memref.copy %x, %t : memref<16xf32> to memref<16xf32>
  memref.copy %t, %out : memref<16xf32> to memref<16xf32>
  memref.dealloc %t : memref<16xf32>
  return
}

// -----

// A rank-0 update (a step counter) moves into a one-thread kernel with the
// load and arithmetic it needs; nothing touches the buffers on the host.
// CHECK-LABEL: func @scalar_code_runs_in_one_thread
// CHECK-SAME: (%[[STEP:[^:]+]]: memref<i64>, %[[NEXT:[^:]+]]: memref<i64>)
// CHECK: %[[ONE:.+]] = arith.constant 1 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
// CHECK: %[[S:.+]] = memref.load %[[STEP]][]
// CHECK: %[[N:.+]] = arith.addi %[[S]]
// CHECK: memref.store %[[N]], %[[NEXT]][]
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @scalar_code_runs_in_one_thread(%step: memref<i64>, %next: memref<i64>) {
  %c1 = arith.constant 1 : i64
  %s = memref.load %step[] : memref<i64>
  %n = arith.addi %s, %c1 : i64
  memref.store %n, %next[] : memref<i64>
  return
}

// -----

func.func @scalar_needed_on_the_host(%size: memref<index>) -> memref<?xf32> {
  // expected-error @+1 {{a scalar read from a device buffer is used by host code}}
  %n = memref.load %size[] : memref<index>
  // expected-note @+1 {{used by 'memref.alloc'}}
  %buffer = memref.alloc(%n) : memref<?xf32>
  return %buffer : memref<?xf32>
}

// -----

func.func @strided_copy(%x: memref<16x16xf32>, %out: memref<4x4xf32>) {
  %s = memref.subview %x[0, 0] [4, 4] [1, 1] : memref<16x16xf32> to memref<4x4xf32, strided<[16, 1]>>
  // expected-error @+1 {{a host-side copy between non-contiguous buffers is not supported}}
  memref.copy %s, %out : memref<4x4xf32, strided<[16, 1]>> to memref<4x4xf32>
  return
}
