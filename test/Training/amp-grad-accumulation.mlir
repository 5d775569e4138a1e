// RUN: amp-opt %s -split-input-file -amp-loss-scaling -amp-grad-accumulation | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-grad-accumulation | FileCheck %s --check-prefix=UNSCALED

// The original step stays; next to it come the accumulate and apply steps.
// CHECK-LABEL: func @step(
// CHECK-LABEL: func @step_apply
// CHECK-SAME: (%[[W:[^:]+]]: tensor<4xf32> {amp.role = "param"}, %[[M:[^:]+]]: tensor<4xf32> {amp.role = "optimizer_state"}, %[[S:[^:]+]]: tensor<i64> {amp.role = "optimizer_state"}, %[[SC:[^:]+]]: tensor<f32> {{{.*}}amp.role = "scaler_state"}, %[[TR:[^:]+]]: tensor<i32> {{{.*}}amp.role = "scaler_state"}, %[[ACC:[^:]+]]: tensor<4xf32> {amp.role = "grad_accumulator"})
// CHECK-SAME: -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "scaler_state"}, tensor<i32> {amp.role = "scaler_state"}, tensor<4xf32> {amp.role = "grad_accumulator"}, tensor<i1> {amp.role = "found_inf"})
// CHECK-NOT: amp.grad_seed
// CHECK: %[[G:.+]] = amp.unscale %[[ACC]], %[[SC]]
// CHECK: amp.sgd %[[W]], %[[G]] state(%[[M]], %[[S]]
// CHECK: amp.all_finite %[[G]]
// CHECK: amp.update_scale %[[SC]], %[[TR]]
// CHECK: %[[ZERO:.+]] = linalg.fill
// CHECK: return {{.*}}, %[[ZERO]], %{{.+}} :
// CHECK-LABEL: func @step_accumulate
// CHECK-SAME: (%[[W:[^:]+]]: tensor<4xf32> {amp.role = "param"}, %[[X:[^:]+]]: tensor<4xf32> {amp.role = "input"}, %[[SC:[^:]+]]: tensor<f32> {{{.*}}amp.role = "scaler_state"}, %[[ACC:[^:]+]]: tensor<4xf32> {amp.role = "grad_accumulator"})
// CHECK-SAME: -> (tensor<4xf32> {amp.role = "grad_accumulator"}, tensor<f32> {amp.role = "loss"})
// CHECK: %[[SEED:.+]] = amp.grad_seed
// CHECK: arith.mulf %[[SEED]], %[[SC]]
// CHECK: %[[GRAD:.+]] = arith.mulf %{{.*}}, %[[X]] : tensor<4xf32>
// CHECK: %[[NEWACC:.+]] = arith.addf %[[ACC]], %[[GRAD]] : tensor<4xf32>
// CHECK-NOT: amp.sgd
// CHECK: return %[[NEWACC]], %{{.*}} : tensor<4xf32>, tensor<f32>

// Without loss scaling there is no scaler state and no unscale.
// UNSCALED-LABEL: func @step_apply
// UNSCALED-SAME: (%{{[^:]+}}: tensor<4xf32> {amp.role = "param"}, %{{[^:]+}}: tensor<4xf32> {amp.role = "optimizer_state"}, %{{[^:]+}}: tensor<i64> {amp.role = "optimizer_state"}, %[[ACC:[^:]+]]: tensor<4xf32> {amp.role = "grad_accumulator"})
// UNSCALED: amp.sgd %{{.*}}, %[[ACC]] state
// UNSCALED-LABEL: func @step_accumulate
// UNSCALED-NOT: scaler_state
func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"}, %s: tensor<i64> {amp.role = "optimizer_state"}, %x: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %p = arith.mulf %w, %x : tensor<4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.reduce ins(%p : tensor<4xf32>) outs(%z0 : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  %seed = amp.grad_seed %loss : tensor<f32>
  %e = tensor.empty() : tensor<4xf32>
  %sb = linalg.broadcast ins(%seed : tensor<f32>) outs(%e : tensor<4xf32>) dimensions = [0]
  %g = arith.mulf %sb, %x : tensor<4xf32>
  %w1, %m1, %s1 = amp.sgd %w, %g state(%m, %s : tensor<4xf32>, tensor<i64>) {lr = 0.1 : f64, momentum = 0.9 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %w1, %m1, %s1, %loss : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}

// -----

// CHECK-LABEL: func @no_optimizer
// UNSCALED-LABEL: func @no_optimizer
func.func @no_optimizer() {
  return
}
