// RUN: amp-opt %s -split-input-file -amp-master-weights | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-master-weights="persistent-copies=true" | FileCheck %s --check-prefix=O2

// Duplicate casts of a param merge into one at the function entry, shared by
// the forward matmul and the transpose feeding the backward matmul; the
// optimizer still reads and updates the f32 master.
// CHECK-LABEL: func @step
// CHECK-SAME: (%[[W:[^:]+]]: tensor<4x4xf32> {amp.role = "param"}
// CHECK-NEXT: %[[W16:.+]] = amp.cast %[[W]] : tensor<4x4xf32> to tensor<4x4xf16>
// CHECK-NOT: amp.cast %[[W]]
// CHECK: linalg.matmul ins(%{{.*}}, %[[W16]] : tensor<8x4xf16>, tensor<4x4xf16>)
// CHECK: linalg.transpose ins(%[[W16]] : tensor<4x4xf16>)
// CHECK: %[[NEW:.+]] = amp.sgd %[[W]], %{{.*}} {lr = 1.000000e-01 : f64} : tensor<4x4xf32>
// CHECK: return %[[NEW]], %{{.*}} : tensor<4x4xf32>, tensor<f32>

// With persistent copies, the copy is an argument and a result, refreshed
// from the updated master.
// O2-LABEL: func @step
// O2-SAME: (%[[W:[^:]+]]: tensor<4x4xf32> {amp.role = "param"}, %[[X:[^:]+]]: tensor<8x4xf16> {amp.role = "input"}, %[[L:[^:]+]]: tensor<f32> {amp.role = "input"}, %[[C:[^:]+]]: tensor<4x4xf16> {amp.copy_of = 0 : i64, amp.role = "param_copy"})
// O2-SAME: -> (tensor<4x4xf32> {amp.role = "param"}, tensor<4x4xf16> {amp.role = "param_copy"}, tensor<f32> {amp.role = "loss"})
// O2-NOT: amp.cast %[[W]]
// O2: linalg.matmul ins(%[[X]], %[[C]] : tensor<8x4xf16>, tensor<4x4xf16>)
// O2: linalg.transpose ins(%[[C]] : tensor<4x4xf16>)
// O2: %[[NEW:.+]] = amp.sgd %[[W]]
// O2-NEXT: %[[FRESH:.+]] = amp.cast %[[NEW]] : tensor<4x4xf32> to tensor<4x4xf16>
// O2: return %[[NEW]], %[[FRESH]], %[[L]]
func.func @step(%w: tensor<4x4xf32> {amp.role = "param"}, %x: tensor<8x4xf16> {amp.role = "input"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4x4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %c = arith.constant dense<0.0> : tensor<8x4xf32>
  %w16a = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf16>
  %y = linalg.matmul ins(%x, %w16a : tensor<8x4xf16>, tensor<4x4xf16>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  %seed = amp.grad_seed %l : tensor<f32>
  %w16b = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf16>
  %e = tensor.empty() : tensor<4x4xf16>
  %wt = linalg.transpose ins(%w16b : tensor<4x4xf16>) outs(%e : tensor<4x4xf16>) permutation = [1, 0]
  %sb = linalg.broadcast ins(%seed : tensor<f32>) outs(%c : tensor<8x4xf32>) dimensions = [0, 1]
  %d16 = amp.cast %sb : tensor<8x4xf32> to tensor<8x4xf16>
  %c2 = arith.constant dense<0.0> : tensor<8x4xf32>
  %dx = linalg.matmul ins(%d16, %wt : tensor<8x4xf16>, tensor<4x4xf16>) outs(%c2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  %c3 = arith.constant dense<0.0> : tensor<4x4xf32>
  %xt0 = tensor.empty() : tensor<4x8xf16>
  %xt = linalg.transpose ins(%x : tensor<8x4xf16>) outs(%xt0 : tensor<4x8xf16>) permutation = [1, 0]
  %dw = linalg.matmul ins(%xt, %d16 : tensor<4x8xf16>, tensor<8x4xf16>) outs(%c3 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %w1 = amp.sgd %w, %dw {lr = 0.1 : f64} : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %w1, %l : tensor<4x4xf32>, tensor<f32>
}

// -----

// Functions that are not training steps are left alone.
// CHECK-LABEL: func @not_a_step
// CHECK-COUNT-2: amp.cast
func.func @not_a_step(%w: tensor<4xf32>) -> (tensor<4xf16>, tensor<4xf16>) {
  %a = amp.cast %w : tensor<4xf32> to tensor<4xf16>
  %b = amp.cast %w : tensor<4xf32> to tensor<4xf16>
  return %a, %b : tensor<4xf16>, tensor<4xf16>
}
