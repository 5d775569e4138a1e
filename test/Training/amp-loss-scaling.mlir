// RUN: amp-opt %s -split-input-file -amp-loss-scaling | FileCheck %s --check-prefix=DYN
// RUN: amp-opt %s -split-input-file -amp-loss-scaling="mode=static scale=1024" | FileCheck %s --check-prefix=STATIC
// RUN: amp-opt %s -split-input-file -amp-loss-scaling="mode=none" | FileCheck %s --check-prefix=NONE
// RUN: amp-opt %s -split-input-file -amp-loss-scaling="report-found-inf=false" | FileCheck %s --check-prefix=NOREPORT
// RUN: amp-opt %s -split-input-file -amp-loss-scaling="growth-factor=4 backoff-factor=0.25 growth-interval=10 min-scale=1 max-scale=16777216" | FileCheck %s --check-prefix=OPTS

// DYN-LABEL: func @step
// DYN-SAME: %[[W:[^:]+]]: tensor<4xf32> {amp.role = "param"}
// DYN-SAME: %[[M:[^:]+]]: tensor<4xf32> {amp.role = "optimizer_state"}
// DYN-SAME: %[[S:[^:]+]]: tensor<i64> {amp.role = "optimizer_state"}
// DYN-SAME: %[[SCALE:[^:]+]]: tensor<f32> {amp.init = 6.553600e+04 : f32, amp.name = "scale", amp.role = "scaler_state"}
// DYN-SAME: %[[TRACK:[^:]+]]: tensor<i32> {amp.init = 0 : i32, amp.name = "growth_tracker", amp.role = "scaler_state"}
// DYN-SAME: -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"}, tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "scaler_state"}, tensor<i32> {amp.role = "scaler_state"}, tensor<i1> {amp.role = "found_inf"}, tensor<f32> {amp.role = "loss"})
// DYN: %[[SEED:.+]] = amp.grad_seed
// DYN: %[[SCALED:.+]] = arith.mulf %[[SEED]], %[[SCALE]] : tensor<f32>
// DYN: linalg.broadcast ins(%[[SCALED]]
// DYN: %[[G:.+]] = amp.unscale %{{.*}}, %[[SCALE]] : tensor<4xf32>
// DYN: %[[NEW:.+]], %[[NS:.+]]:2 = amp.sgd %[[W]], %[[G]] state(%[[M]], %[[S]]
// DYN: %[[OK:.+]] = amp.all_finite %[[G]] : tensor<4xf32>
// DYN: %[[OKS:.+]] = tensor.extract %[[OK]][] : tensor<i1>
// DYN-DAG: %[[W1:.+]] = arith.select %[[OKS]], %[[NEW]], %[[W]] : tensor<4xf32>
// DYN-DAG: %[[M1:.+]] = arith.select %[[OKS]], %[[NS]]#0, %[[M]] : tensor<4xf32>
// DYN-DAG: %[[S1:.+]] = arith.select %[[OKS]], %[[NS]]#1, %[[S]] : tensor<i64>
// The step reports found_inf = !all_finite, GradScaler's flag.
// DYN: %[[NOTOK:.+]] = arith.xori %[[OKS]], %true
// DYN: %[[FOUND:.+]] = tensor.from_elements %[[NOTOK]] : tensor<i1>
// DYN: %[[NSCALE:.+]], %[[NTRACK:.+]] = amp.update_scale %[[SCALE]], %[[TRACK]], %[[OK]] {max_scale = 0x7FF0000000000000 : f64} : tensor<f32>, tensor<i32>
// DYN: return %[[W1]], %[[M1]], %[[S1]], %[[NSCALE]], %[[NTRACK]], %[[FOUND]], %{{.*}} :

// STATIC-LABEL: func @step
// STATIC-NOT: scaler_state
// STATIC-SAME: tensor<i1> {amp.role = "found_inf"}, tensor<f32> {amp.role = "loss"})
// STATIC: %[[S:.+]] = arith.constant dense<1.024000e+03> : tensor<f32>
// STATIC: %[[SEED:.+]] = amp.grad_seed
// STATIC: arith.mulf %[[SEED]], %[[S]] : tensor<f32>
// STATIC: amp.unscale %{{.*}}, %[[S]] : tensor<4xf32>
// STATIC: amp.all_finite
// STATIC-NOT: amp.update_scale
// STATIC: return

// NOREPORT-LABEL: func @step
// NOREPORT-NOT: found_inf

// NONE-LABEL: func @step
// NONE-NOT: amp.unscale
// NONE-NOT: scaler_state

// OPTS-LABEL: func @step
// OPTS: amp.update_scale {{.*}} {backoff_factor = 2.500000e-01 : f64, growth_factor = 4.000000e+00 : f64, growth_interval = 10 : i64, max_scale = 0x4170000000000000 : f64, min_scale = 1.000000e+00 : f64}
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

// A scalar f32 loss: the seed is scaled by the scalar scale.
// DYN-LABEL: func @scalar_loss
// DYN: %[[SEED:.+]] = amp.grad_seed %{{.*}} : f32
// DYN: %[[SC:.+]] = tensor.extract %{{.*}}[] : tensor<f32>
// DYN: arith.mulf %[[SEED]], %[[SC]] : f32
func.func @scalar_loss(%w: tensor<4xf32> {amp.role = "param"}, %l: f32 {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, f32 {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : f32
  %g = tensor.splat %seed : tensor<4xf32>
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %l : tensor<4xf32>, f32
}
