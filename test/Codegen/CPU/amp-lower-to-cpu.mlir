// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=f16 -amp-lower-to-cpu | FileCheck %s
// RUN: amp-opt %ampc_src/examples/mlp_training_step.mlir -amp-pipeline=compute-type=bf16 -amp-lower-to-cpu | FileCheck %s --check-prefix=BF16

// Everything is in the LLVM dialect; the step has a C entry point whose
// results are out-params (6 inputs + 2 scaler states in, 4 params + 2 scaler
// states + loss out: 15 descriptors, no return value).
// CHECK-NOT: amp.
// CHECK-NOT: tensor<
// CHECK-LABEL: llvm.func @train_step(
// CHECK-DAG: llvm.call @malloc
// CHECK-DAG: llvm.call @free
// CHECK-DAG: llvm.fptrunc {{.*}} : f32 to f16
// CHECK-DAG: llvm.intr.exp
// CHECK-LABEL: llvm.func @_mlir_ciface_train_step(
// CHECK-SAME: %arg14: !llvm.ptr) attributes {llvm.emit_c_interface} {

// bf16 conversions are expanded to integer ops (no libcall).
// BF16-LABEL: llvm.func @train_step(
// BF16-NOT: fptrunc {{.*}} to bf16
// BF16: llvm.lshr
