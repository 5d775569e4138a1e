// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline=compute-type=f16 -amp-lower-to-nvvm | FileCheck %s
// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 -amp-lower-to-nvvm | FileCheck %s --check-prefix=BF16

// Every structured op became a kernel, serialized to PTX for sm_90 by LLVM's
// NVPTX target; the host side launches them and no linalg is left.
// CHECK-NOT: linalg.
// CHECK: gpu.launch_func {{ *}}@train_step_kernel::@train_step_kernel
// CHECK-NOT: linalg.
// CHECK: gpu.binary @train_step_kernel {{ *}}[#gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry train_step_kernel(
// CHECK-SAME: cvt.rn.f16.f32
// BF16: cvt.rn.bf16.f32
