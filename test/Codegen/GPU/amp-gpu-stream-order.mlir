// RUN: amp-opt %s -split-input-file -amp-gpu-stream-order -verify-diagnostics | FileCheck %s

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
  // One token chain from entry to return; the library call in between
  // (it enqueues on the same stream) forces no wait.
  // CHECK-LABEL: func @one_chain
  // CHECK: %[[T0:.+]] = gpu.wait async
  // CHECK: %[[BUF:.+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]] ()
  // CHECK: %[[T2:.+]] = gpu.launch_func async [%[[T1]]] @kernels::@k
  // CHECK-NOT: gpu.wait
  // CHECK: call @library
  // CHECK: %[[T3:.+]] = gpu.memcpy async [%[[T2]]]
  // CHECK: %[[T4:.+]] = gpu.dealloc async [%[[T3]]] %[[BUF]]
  // CHECK: gpu.wait [%[[T4]]]
  // CHECK-NEXT: return
  func.func @one_chain(%x: memref<16xf32>, %out: memref<16xf32>, %p: index) {
    %c1 = arith.constant 1 : index
    %t = gpu.alloc () : memref<16xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%t : memref<16xf32>)
    func.call @library(%p) : (index) -> ()
    gpu.memcpy %out, %t : memref<16xf32>, memref<16xf32>
    gpu.dealloc %t : memref<16xf32>
    return
  }
  func.func private @library(index)
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
  func.func @in_a_loop(%x: memref<16xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      // expected-error @+1 {{GPU work inside host control flow is not supported}}
      gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<16xf32>)
    }
    return
  }
}
