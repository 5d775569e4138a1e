// RUN: amp-opt %s -split-input-file -verify-diagnostics -amp-gpu-merge-kernel-modules

// Kernels compiled for different chips cannot share one binary.
module attributes {gpu.container_module} {
  gpu.module @sm90 [#nvvm.target<chip = "sm_90">] {
    gpu.func @k(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
  // expected-error @+1 {{ampc: kernel modules with different targets cannot be merged}}
  gpu.module @sm80 [#nvvm.target<chip = "sm_80">] {
    gpu.func @k(%x: memref<16xf32>) kernel {
      gpu.return
    }
  }
}
