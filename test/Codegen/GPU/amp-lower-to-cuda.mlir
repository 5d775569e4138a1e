// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=f16 -amp-lower-to-cuda | FileCheck %s
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 -amp-lower-to-cuda | FileCheck %s --check-prefix=BF16
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 -amp-lower-to-cuda=library-gemm=false | FileCheck %s --check-prefix=NOLIB

// The host function is LLVM: device buffers, cuBLASLt GEMMs and launches on
// the runtime's stream, one synchronization; the kernels are one gpu.binary
// of PTX for sm_90 (LLVM's NVPTX target); no linalg or memref is left.
// CHECK-NOT: linalg.
// CHECK-LABEL: llvm.func @train_step(
// CHECK: llvm.call @mgpuStreamCreate()
// CHECK: llvm.call @mgpuMemAlloc(
// CHECK: llvm.call @ampc_cuda_gemm(
// CHECK: gpu.launch_func <%{{.+}} : !llvm.ptr> @train_step_kernel::@train_step_kernel
// CHECK: llvm.call @mgpuStreamSynchronize(
// CHECK-NEXT: llvm.call @mgpuStreamDestroy(
// CHECK: llvm.func @_mlir_ciface_train_step(
// CHECK: gpu.binary @train_step_kernel {{ *}}[#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry train_step_kernel(
// CHECK-SAME: cvt.rn.f16.f32
// CHECK-NOT: gpu.binary
// BF16: cvt.rn.bf16.f32

// Without the library, matmuls are kernels too.
// NOLIB-NOT: ampc_cuda_gemm
// NOLIB: gpu.binary
