// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline | FileCheck %s --check-prefix=F16
// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline="compute-type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline="compute-type=bf16 loss-scaling=static scale=128 persistent-copies=true" | FileCheck %s --check-prefix=O2
// RUN: not amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline="loss-scaling=sometimes" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not amp-opt %s -amp-pipeline 2>&1 | FileCheck %s --check-prefix=CONTRACT
// RUN: amp-opt %S/../../test/Tools/Inputs/ragged-matmul.mlir -amp-pipeline="compute-type=bf16" 2>&1 | FileCheck %s --check-prefix=FORWARD
// RUN: amp-opt %S/../../test/Tools/Inputs/ragged-matmul.mlir -amp-pipeline="loss-scaling=dynamic" 2>&1 | FileCheck %s --check-prefix=ASKED
// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline="compute-type=bf16 hyperparameters=lr" | FileCheck %s --check-prefix=HYPER
// RUN: amp-opt %S/../../examples/mlp_training_step.mlir -amp-pipeline="data-parallel=mpi bucket-cap-mb=0.01" | FileCheck %s --check-prefix=DP

// Data parallel (f16, dynamic scaling): two gradient buckets after the
// backward, the unscale by scale * world size, the flag agreed.
// DP: module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">}
// DP-LABEL: func.func @train_step(
// DP: amp.world_size
// DP: amp.all_reduce sum %{{[^,]+}} : tensor<64x128xf32>
// DP: amp.all_reduce sum %{{.+}} : tensor<128xf32>, tensor<128x10xf32>, tensor<10xf32>
// DP: amp.unscale
// DP: amp.all_finite
// DP: amp.all_reduce min

// f16 defaults to dynamic loss scaling; the matmuls run in f16; SGD stays f32.
// F16-LABEL: func @train_step
// F16-SAME: tensor<f32> {amp.init = 6.553600e+04 : f32, amp.name = "scale", amp.role = "scaler_state"}
// F16: linalg.matmul ins({{.*}} : tensor<32x64xf16>, tensor<64x128xf16>)
// F16: amp.unscale
// F16: amp.sgd {{.*}} : tensor<64x128xf32>
// F16: amp.all_finite
// F16: amp.update_scale

// bf16 needs no scaler by default.
// BF16-LABEL: func @train_step
// BF16-NOT: scaler_state
// BF16: linalg.matmul ins({{.*}} : tensor<32x64xbf16>, tensor<64x128xbf16>)
// BF16-NOT: amp.unscale

// O2-LABEL: func @train_step
// O2-SAME: tensor<64x128xbf16> {amp.copy_of = 2 : i64, amp.role = "param_copy"}
// O2: arith.constant dense<1.280000e+02> : tensor<f32>
// O2: amp.unscale

// BAD: Cannot find option named 'sometimes'

// A forward-only module under loss-scaling=auto is expected: no warning.
// Asked for explicitly, scaling without a step is worth a word.
// FORWARD-NOT: warning
// FORWARD: func.func
// ASKED: warning: amp-loss-scaling: no function marked amp.training_step; nothing to scale

// HYPER-LABEL: func @train_step
// HYPER-SAME: tensor<f64> {amp.init = 1.000000e-01 : f64, amp.name = "lr", amp.role = "hyperparameter"}
// HYPER: amp.sgd {{.*}} lr(%{{.+}})

// A broken contract stops the pipeline with the verifier's error.
// CONTRACT: error: training step must have exactly one amp.grad_seed, found 0
func.func @broken(%w: tensor<4xf32> {amp.role = "param"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  return %w, %l : tensor<4xf32>, tensor<f32>
}
