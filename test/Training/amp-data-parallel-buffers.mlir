// RUN: amp-opt %s -amp-loss-scaling=mode=dynamic -amp-data-parallel | FileCheck %s
// RUN: amp-opt %s -amp-data-parallel=average-buffers=false | FileCheck %s --check-prefix=KEEP

// KEEP-LABEL: func @with_buffers(
// KEEP: amp.all_reduce sum %{{[^,]+}} : tensor<4xf32>
// KEEP-NOT: amp.all_reduce
// KEEP: return

// f32 buffers (BatchNorm running statistics) are averaged in the same
// buckets as the gradients; integer buffers agree without it.
// CHECK-LABEL: func @with_buffers(
// CHECK-SAME: %[[RM:[^:]+]]: tensor<4xf32> {amp.role = "buffer"}
// CHECK: %[[NEWRM:.+]] = arith.addf %[[RM]]
// CHECK: %[[N:.+]] = amp.world_size
// CHECK: %[[SUM:.+]]:2 = amp.all_reduce sum %{{.+}}, %[[NEWRM]] : tensor<4xf32>, tensor<4xf32>
// CHECK: %[[MEANRM:.+]] = amp.unscale %[[SUM]]#1, %[[N]]
// CHECK: arith.select %{{.+}}, %[[MEANRM]], %[[RM]]
// CHECK-NOT: amp.all_reduce sum
// CHECK: return
func.func @with_buffers(%w: tensor<4xf32> {amp.role = "param"}, %rm: tensor<4xf32> {amp.role = "buffer"}, %count: tensor<i64> {amp.role = "buffer"}, %x: tensor<4xf32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "buffer"}, tensor<i64> {amp.role = "buffer"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant dense<1> : tensor<i64>
  %p = arith.mulf %w, %x : tensor<4xf32>
  %rm1 = arith.addf %rm, %x : tensor<4xf32>
  %count1 = arith.addi %count, %one : tensor<i64>
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
  return %w1, %rm1, %count1, %loss : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}
