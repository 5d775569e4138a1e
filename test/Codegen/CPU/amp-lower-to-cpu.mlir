// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=f16 -amp-lower-to-cpu | FileCheck %s
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 -amp-lower-to-cpu | FileCheck %s --check-prefix=BF16
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 '-amp-lower-to-cpu=native-bf16' | FileCheck %s --check-prefix=NATIVE-BF16
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 '-amp-lower-to-cpu=gemm=native parallel=false' | FileCheck %s --check-prefix=NATIVE

// Everything is in the LLVM dialect (OpenMP regions aside, which the LLVM IR
// translation turns into libomp calls); the step has a C entry point whose
// results are out-params (6 inputs + 2 scaler states in, 4 params + 2 scaler
// states + found_inf + loss out: 16 descriptors, no return value). Matmuls are oneDNN
// calls; temporaries come from the buffer cache every library links. Each
// loop nest is a kernel of its own (amp-cpu-outline-kernels), internal and
// never inlined, ahead of the step that calls it.
// CHECK-NOT: amp.
// CHECK-NOT: tensor<
// CHECK-DAG: llvm.func @ampc_cpu_gemm(i32, i32, i32, i32, i32, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, f32, i64, i32, i32)
// CHECK-DAG: llvm.func internal @train_step_kernel0({{.*}}) attributes {ampc.kernel, passthrough = ["noinline"]
// CHECK-DAG: llvm.fptrunc {{.*}} : f32 to f16
// CHECK-DAG: llvm.intr.exp
// CHECK-LABEL: llvm.func @train_step(
// CHECK-DAG: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK-DAG: llvm.call @_mlir_memref_to_llvm_free
// CHECK-DAG: llvm.call @ampc_cpu_gemm(
// CHECK-DAG: llvm.call @train_step_kernel0(
// CHECK-LABEL: llvm.func @_mlir_ciface_train_step(
// CHECK-SAME: %arg15: !llvm.ptr) attributes {llvm.emit_c_interface} {

// bf16 conversions are expanded to integer ops (no libcall) unless the
// target converts in hardware (native-bf16, set by ampc for AVX512-BF16).
// BF16-NOT: fptrunc {{.*}} to bf16
// BF16: llvm.lshr
// BF16-LABEL: llvm.func @train_step(
// NATIVE-BF16: llvm.fptrunc {{.*}} to bf16
// NATIVE-BF16-LABEL: llvm.func @train_step(

// gemm=native: generated matmul tiles whose multiply-adds may fuse into
// FMAs (contract), no runtime call; parallel=false: no OpenMP region.
// NATIVE-NOT: ampc_cpu_gemm
// NATIVE-NOT: omp.parallel
// NATIVE: llvm.fmul {{.*}} {fastmathFlags = #llvm.fastmath<contract>} : vector<1xf32>
// NATIVE: llvm.fadd {{.*}} {fastmathFlags = #llvm.fastmath<contract>} : vector<32xf32>
// NATIVE-LABEL: llvm.func @train_step(
