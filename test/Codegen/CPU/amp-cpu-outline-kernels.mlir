// RUN: amp-opt %s -split-input-file -amp-cpu-outline-kernels | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-cpu-outline-kernels -duplicate-function-elimination | FileCheck %s --check-prefix=SHARED
// RUN: amp-opt %s -split-input-file '-amp-cpu-outline-kernels=min-ops=100' | FileCheck %s --check-prefix=BIG

// Each top-level loop nest of a public function moves into an internal,
// never-inlined kernel that takes the buffers and scalars it reads; the
// constants it uses are cloned in.
// CHECK-LABEL: func.func private @step_kernel0(
// CHECK-SAME: %[[IN:[^ :]+]]: memref<8xf32>, %[[SCALE:[^ :]+]]: f32, %[[OUT:[^ :]+]]: memref<8xf32>)
// CHECK-SAME: attributes {ampc.kernel, llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK: scf.for %[[I:.+]] = %[[C0]] to %[[C8]]
// CHECK: memref.load %[[IN]][%[[I]]]
// CHECK: arith.mulf %{{.+}}, %[[SCALE]]
// CHECK: memref.store %{{.+}}, %[[OUT]][%[[I]]]
// CHECK: return
// CHECK-LABEL: func.func private @step_kernel1(
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[A:[^ :]+]]: memref<8xf32>, %[[S:[^ :]+]]: f32)
// CHECK: %[[T:.+]] = memref.alloc() : memref<8xf32>
// CHECK: call @step_kernel0(%[[A]], %[[S]], %[[T]])
// CHECK: call @step_kernel1(%[[T]], %[[S]], %[[A]])
// CHECK-NOT: scf.for
// CHECK: memref.dealloc %[[T]]

// The two loops are the same kernel on other buffers: one function left.
// SHARED-LABEL: func.func private @step_kernel0(
// SHARED-NOT: func.func private @step_kernel1(
// SHARED-LABEL: func.func @step(
// SHARED: call @step_kernel0(
// SHARED: call @step_kernel0(

// Loop nests below min-ops stay where they are.
// BIG-NOT: kernel
// BIG-LABEL: func.func @step(
// BIG-COUNT-2: scf.for
func.func @step(%a: memref<8xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %a[%i] : memref<8xf32>
    %m = arith.mulf %v, %s : f32
    memref.store %m, %t[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %t[%i] : memref<8xf32>
    %m = arith.mulf %v, %s : f32
    memref.store %m, %a[%i] : memref<8xf32>
  }
  memref.dealloc %t : memref<8xf32>
  return
}

// -----

// OpenMP regions (amp-cpu-parallel-loops) are kernels too; private
// functions and loops that return values are left alone.
// CHECK-LABEL: func.func private @helper(
// CHECK: scf.for
// CHECK-LABEL: func.func private @parallel_kernel0(
// CHECK: omp.parallel
// CHECK-LABEL: func.func @parallel(
// CHECK: call @parallel_kernel0(
// CHECK: scf.for {{.*}} iter_args
func.func private @helper(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %z, %a[%i] : memref<4xf32>
  }
  return
}

func.func @parallel(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c4) step (%c1) {
        memref.store %z, %a[%i] : memref<4xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (f32) {
    %v = memref.load %a[%i] : memref<4xf32>
    %n = arith.addf %acc, %v : f32
    scf.yield %n : f32
  }
  return %sum : f32
}
