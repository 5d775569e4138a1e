// RUN: amp-opt %s -split-input-file -amp-clip-gradients="max-norm=1.0" | FileCheck %s
// RUN: amp-opt %s -split-input-file -amp-loss-scaling -amp-clip-gradients="max-norm=1.0 norm-type=inf" | FileCheck %s --check-prefix=SCALED
// RUN: amp-opt %s -split-input-file -amp-loss-scaling -amp-clip-gradients="max-value=0.5" | FileCheck %s --check-prefix=VALUE
// RUN: amp-opt %s -split-input-file -amp-clip-gradients="max-norm=1.0 report-norm=false" | FileCheck %s --check-prefix=NOREPORT
// RUN: amp-opt %s -split-input-file -amp-clip-gradients | FileCheck %s --check-prefix=OFF

// One global norm over every gradient the optimizers read; the norm is a
// grad_norm result before the loss.
// CHECK-LABEL: func.func @two_params(
// CHECK-SAME:    -> (tensor<4xf32> {amp.role = "param"}, tensor<2xf32> {amp.role = "param"}, tensor<f32> {amp.role = "grad_norm"}, tensor<f32> {amp.role = "loss"})
// CHECK:         %[[C:.+]]:2, %[[N:.+]] = amp.clip_grad_norm %{{.+}}, %{{.+}} {max_norm = 1.000000e+00 : f64} : tensor<4xf32>, tensor<2xf32> -> tensor<4xf32>, tensor<2xf32>, tensor<f32>
// CHECK:         %[[W:.+]] = amp.sgd %{{.+}}, %[[C]]#0
// CHECK:         %[[V:.+]] = amp.sgd %{{.+}}, %[[C]]#1
// CHECK:         return %[[W]], %[[V]], %[[N]], %{{.+}} :
// Under loss scaling the unscaled gradients are clipped, and the norm joins
// the finiteness check.
// SCALED-LABEL: func.func @two_params(
// SCALED:         %[[U0:.+]] = amp.unscale
// SCALED:         %[[U1:.+]] = amp.unscale
// SCALED:         %[[C:.+]]:2, %[[N:.+]] = amp.clip_grad_norm %[[U0]], %[[U1]] {max_norm = 1.000000e+00 : f64, norm_type = 0x7FF0000000000000 : f64}
// SCALED:         amp.all_finite %[[U0]], %[[U1]], %[[N]] :
// SCALED:         return {{.*}} : tensor<4xf32>, tensor<2xf32>, tensor<f32>, tensor<i32>, tensor<i1>, tensor<f32>, tensor<f32>
// The finiteness check reads the unclamped gradients: clamping an inf does
// not hide it.
// VALUE-LABEL: func.func @two_params(
// VALUE:         %[[U0:.+]] = amp.unscale
// VALUE:         %[[K0:.+]] = amp.clip_grad_value %[[U0]] {clip_value = 5.000000e-01 : f64} : tensor<4xf32>
// VALUE:         amp.sgd %{{.+}}, %[[K0]]
// VALUE:         %[[U1:.+]] = amp.unscale
// VALUE:         amp.clip_grad_value %[[U1]]
// VALUE:         amp.all_finite %[[U0]], %[[U1]] :
// VALUE-NOT:     grad_norm
// NOREPORT-LABEL: func.func @two_params(
// NOREPORT-NOT:   grad_norm
// NOREPORT:       amp.clip_grad_norm
// OFF-LABEL:   func.func @two_params(
// OFF-NOT:       amp.clip
func.func @two_params(%w: tensor<4xf32> {amp.role = "param"}, %v: tensor<2xf32> {amp.role = "param"},
                      %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<2xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1 = amp.sgd %w, %g {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %h = linalg.broadcast ins(%seed : tensor<f32>) outs(%v : tensor<2xf32>) dimensions = [0]
  %v1 = amp.sgd %v, %h {lr = 0.1 : f64} : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %w1, %v1, %l : tensor<4xf32>, tensor<2xf32>, tensor<f32>
}
