// RUN: amp-opt %s -amp-gpu-merge-kernel-modules | FileCheck %s

// The clashing kernel name is renamed and its launch retargeted.
module attributes {gpu.container_module} {
  gpu.module @step_kernel {
    gpu.func @step_kernel(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @step_kernel_0 {
    gpu.func @step_kernel(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
  // CHECK: gpu.module @step_kernel {
  // CHECK: gpu.func @step_kernel(
  // CHECK: gpu.func @step_kernel_0(
  // CHECK-NOT: gpu.module
  // CHECK-LABEL: func @launches
  // CHECK: gpu.launch_func @step_kernel::@step_kernel blocks
  // CHECK: gpu.launch_func @step_kernel::@step_kernel_0 blocks
  func.func @launches(%x: memref<16xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @step_kernel::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<16xf32>)
    gpu.launch_func @step_kernel_0::@step_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<16xf32>)
    return
  }
}
