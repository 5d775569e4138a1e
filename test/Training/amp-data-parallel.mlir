// RUN: amp-opt %s -split-input-file -amp-loss-scaling=mode=dynamic -amp-data-parallel | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-data-parallel | FileCheck %s --check-prefix=UNSCALED
// RUN: amp-opt %s -split-input-file -amp-data-parallel=bucket-cap-mb=0.00001 | FileCheck %s --check-prefix=SMALL
// RUN: amp-opt %s -split-input-file -amp-loss-scaling=mode=dynamic -amp-grad-accumulation -amp-data-parallel | FileCheck %s --check-prefix=ACCUM
// RUN: amp-opt %s -split-input-file -amp-data-parallel=mpi-implementation=MPICH | FileCheck %s --check-prefix=MPICH

// The raw gradients are summed across ranks after the backward and before
// the unscale; the unscale divides by scale * world size; the finiteness
// flag is agreed by a min all-reduce before anything reads it.
// CHECK: module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "OpenMPI">}
// CHECK-LABEL: func @step(
// CHECK-SAME: %[[W:[^:]+]]: tensor<4xf32> {amp.role = "param"}, %[[V:[^:]+]]: tensor<4xf32> {amp.role = "param"}, %[[X:[^:]+]]: tensor<4xf32> {amp.role = "input"}, %[[SC:[^:]+]]: tensor<f32>
// CHECK: amp.grad_seed
// CHECK: %[[GW:.+]] = arith.mulf %{{.+}}, %[[X]] : tensor<4xf32>
// CHECK: %[[GV:.+]] = arith.mulf %[[GW]], %[[X]] : tensor<4xf32>
// CHECK: %[[N:.+]] = amp.world_size : tensor<f32>
// CHECK: %[[SN:.+]] = arith.mulf %[[SC]], %[[N]] : tensor<f32>
// CHECK: %[[SUM:.+]]:2 = amp.all_reduce sum %[[GW]], %[[GV]] : tensor<4xf32>, tensor<4xf32>
// CHECK: %[[UW:.+]] = amp.unscale %[[SUM]]#0, %[[SN]]
// CHECK: amp.sgd %[[W]], %[[UW]]
// CHECK: %[[UV:.+]] = amp.unscale %[[SUM]]#1, %[[SN]]
// CHECK: amp.sgd %[[V]], %[[UV]]
// CHECK: %[[OK:.+]] = amp.all_finite %[[UW]], %[[UV]]
// CHECK: %[[OKI:.+]] = arith.extui %[[OK]] : tensor<i1> to tensor<i32>
// CHECK: %[[ALL:.+]] = amp.all_reduce min %[[OKI]] : tensor<i32>
// CHECK: %[[AGREED:.+]] = arith.trunci %[[ALL]] : tensor<i32> to tensor<i1>
// CHECK: tensor.extract %[[AGREED]][]
// CHECK: amp.update_scale %[[SC]], %{{.+}}, %[[AGREED]]

// Without loss scaling the mean is an unscale by the world size.
// UNSCALED-LABEL: func @step(
// UNSCALED: %[[N:.+]] = amp.world_size : tensor<f32>
// UNSCALED: %[[SUM:.+]]:2 = amp.all_reduce sum
// UNSCALED-DAG: amp.unscale %[[SUM]]#0, %[[N]]
// UNSCALED-DAG: amp.unscale %[[SUM]]#1, %[[N]]
// UNSCALED-NOT: amp.all_reduce min

// Buckets of at most 10 bytes: one per 16-byte gradient.
// SMALL-LABEL: func @step(
// SMALL: amp.all_reduce sum %{{[^,]+}} : tensor<4xf32>
// SMALL: amp.all_reduce sum %{{[^,]+}} : tensor<4xf32>

// With accumulation only the apply step communicates (DDP's no_sync for
// the micro-batches).
// ACCUM-LABEL: func @step(
// ACCUM: amp.all_reduce sum
// ACCUM-LABEL: func @step_apply(
// ACCUM-SAME: %[[ACC0:[^:]+]]: tensor<4xf32> {amp.role = "grad_accumulator"}, %[[ACC1:[^:]+]]: tensor<4xf32> {amp.role = "grad_accumulator"})
// ACCUM: amp.all_reduce sum %[[ACC0]], %[[ACC1]]
// ACCUM: amp.all_reduce min
// ACCUM-LABEL: func @step_accumulate(
// ACCUM-NOT: amp.all_reduce
// ACCUM: return

// MPICH: module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">}
// MPICH-LABEL: func @step(
func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<4xf32> {amp.role = "param"}, %x: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %p = arith.mulf %w, %x : tensor<4xf32>
  %q = arith.mulf %p, %v : tensor<4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.reduce ins(%q : tensor<4xf32>) outs(%z0 : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %t = arith.addf %in, %acc : f32
      linalg.yield %t : f32
    }
  %seed = amp.grad_seed %loss : tensor<f32>
  %e = tensor.empty() : tensor<4xf32>
  %sb = linalg.broadcast ins(%seed : tensor<f32>) outs(%e : tensor<4xf32>) dimensions = [0]
  %gw = arith.mulf %sb, %x : tensor<4xf32>
  %gv = arith.mulf %gw, %x : tensor<4xf32>
  %w1 = amp.sgd %w, %gw {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %v1 = amp.sgd %v, %gv {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %loss : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// An optimizer that runs before the last gradient exists moves after the
// all-reduce.
// UNSCALED-LABEL: func @early_optimizer(
// UNSCALED: amp.grad_seed
// UNSCALED: %[[GW:.+]] = arith.mulf
// UNSCALED: %[[GV:.+]] = arith.mulf %[[GW]]
// UNSCALED: %[[SUM:.+]]:2 = amp.all_reduce sum %[[GW]], %[[GV]]
// UNSCALED-DAG: %[[MW:.+]] = amp.unscale %[[SUM]]#0
// UNSCALED-DAG: %[[MV:.+]] = amp.unscale %[[SUM]]#1
// UNSCALED-DAG: amp.sgd %{{.+}}, %[[MW]]
// UNSCALED-DAG: amp.sgd %{{.+}}, %[[MV]]
// UNSCALED: return
func.func @early_optimizer(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<4xf32> {amp.role = "param"}, %x: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
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
  %gw = arith.mulf %sb, %x : tensor<4xf32>
  %w1 = amp.sgd %w, %gw {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %gv = arith.mulf %gw, %x : tensor<4xf32>
  %v1 = amp.sgd %v, %gv {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %w1, %v1, %loss : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

