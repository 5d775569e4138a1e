// RUN: amp-opt %s -split-input-file | amp-opt -split-input-file | FileCheck %s
// RUN: amp-opt %s -split-input-file -mlir-print-op-generic | amp-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @cast_tensor
// CHECK: amp.cast %{{.*}} : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK: amp.cast %{{.*}} : tensor<4x8xf16> to tensor<4x8xbf16>
// CHECK: amp.cast %{{.*}} : tensor<4x8xbf16> to tensor<4x8xf32>
func.func @cast_tensor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf16>
  %1 = amp.cast %0 : tensor<4x8xf16> to tensor<4x8xbf16>
  %2 = amp.cast %1 : tensor<4x8xbf16> to tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @cast_scalar_and_dynamic
// CHECK: amp.cast %{{.*}} : f32 to bf16
// CHECK: amp.cast %{{.*}} : tensor<?x3xf32> to tensor<?x3xf16>
func.func @cast_scalar_and_dynamic(%s: f32, %t: tensor<?x3xf32>) -> (bf16, tensor<?x3xf16>) {
  %0 = amp.cast %s : f32 to bf16
  %1 = amp.cast %t : tensor<?x3xf32> to tensor<?x3xf16>
  return %0, %1 : bf16, tensor<?x3xf16>
}

// -----

// CHECK-LABEL: func @pins
// CHECK: arith.addf %{{.*}} {amp.precision = "f32"}
// CHECK: arith.mulf %{{.*}} {amp.precision = "bf16"}
func.func @pins(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a {amp.precision = "f32"} : tensor<4xf32>
  %1 = arith.mulf %0, %0 {amp.precision = "bf16"} : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @training_ops
// CHECK: amp.grad_seed %{{.*}} : tensor<f32>
// CHECK: amp.sgd %{{.*}}, %{{.*}} {lr = 1.000000e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: amp.sgd %{{.*}}, %{{.*}} state(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<i64>) {lr = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64, nesterov = true}
// CHECK: amp.adam %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {lr = 1.000000e-03 : f64} : tensor<4xf32>, tensor<i64>
// CHECK: amp.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {beta1 = 8.000000e-01 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-01 : f64} : tensor<4xf32>, tensor<i64>
func.func @training_ops(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %s: tensor<i64>, %l: tensor<f32>) -> (tensor<4xf32>, tensor<f32>) {
  %seed = amp.grad_seed %l : tensor<f32>
  %p1 = amp.sgd %p, %g {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %p2, %b2, %s2 = amp.sgd %p1, %g state(%b, %s : tensor<4xf32>, tensor<i64>) {lr = 1.0e-01 : f64, momentum = 9.0e-01 : f64, nesterov = true} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  %p3, %m3, %v3, %s3 = amp.adam %p2, %g, %b, %b, %s {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
  %p4, %m4, %v4, %s4 = amp.adamw %p3, %g, %m3, %v3, %s3 {lr = 1.0e-03 : f64, beta1 = 0.8 : f64, weight_decay = 0.1 : f64} : tensor<4xf32>, tensor<i64>
  return %p4, %seed : tensor<4xf32>, tensor<f32>
}

// -----

// Run-time hyperparameters: tensor<f64> operands; the attributes keep the
// values the step was built with.
// CHECK-LABEL: func @runtime_hyperparameters
// CHECK: amp.sgd %{{.*}}, %{{.*}} state(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<i64>) lr(%[[LR:.+]]) momentum(%[[M:.+]]) weight_decay(%[[WD:.+]]) {lr = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64}
// CHECK: amp.adamw %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} lr(%[[LR]]) beta1(%{{.*}}) beta2(%{{.*}}) eps(%{{.*}}) weight_decay(%[[WD]]) {lr = 1.000000e-03 : f64}
// CHECK: amp.adam %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} eps(%{{.*}}) {lr = 1.000000e-03 : f64}
func.func @runtime_hyperparameters(%p: tensor<4xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %s: tensor<i64>,
                                   %lr: tensor<f64>, %m: tensor<f64>, %wd: tensor<f64>, %b1: tensor<f64>,
                                   %b2: tensor<f64>, %eps: tensor<f64>) -> tensor<4xf32> {
  %p1, %b1n, %s1 = amp.sgd %p, %g state(%b, %s : tensor<4xf32>, tensor<i64>) lr(%lr) momentum(%m) weight_decay(%wd) {lr = 1.0e-01 : f64, momentum = 9.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  %p2, %m2, %v2, %s2 = amp.adamw %p1, %g, %b, %b, %s lr(%lr) beta1(%b1) beta2(%b2) eps(%eps) weight_decay(%wd) {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
  %p3, %m3, %v3, %s3 = amp.adam %p2, %g, %m2, %v2, %s2 eps(%eps) {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
  return %p3 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @clipping_ops
// CHECK: amp.clip_grad_norm %{{.*}}, %{{.*}} {max_norm = 1.000000e+00 : f64} : tensor<4xf32>, tensor<2x2xf32> -> tensor<4xf32>, tensor<2x2xf32>, tensor<f32>
// CHECK: amp.clip_grad_value %{{.*}} {clip_value = 5.000000e-01 : f64} : tensor<4xf32>
func.func @clipping_ops(%g: tensor<4xf32>, %h: tensor<2x2xf32>) -> (tensor<4xf32>, tensor<f32>) {
  %c:2, %n = amp.clip_grad_norm %g, %h {max_norm = 1.0 : f64} : tensor<4xf32>, tensor<2x2xf32> -> tensor<4xf32>, tensor<2x2xf32>, tensor<f32>
  %v = amp.clip_grad_value %c#0 {clip_value = 0.5 : f64} : tensor<4xf32>
  return %v, %n : tensor<4xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func @loss_scaling_ops
// CHECK: amp.unscale %{{.*}}, %{{.*}} : tensor<4xf32>
// CHECK: amp.all_finite %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<2x2xf32>
// CHECK: amp.update_scale %{{.*}}, %{{.*}}, %{{.*}} {growth_interval = 100 : i64} : tensor<f32>, tensor<i32>
func.func @loss_scaling_ops(%g: tensor<4xf32>, %h: tensor<2x2xf32>, %s: tensor<f32>, %t: tensor<i32>) -> (tensor<f32>, tensor<i32>) {
  %u = amp.unscale %g, %s : tensor<4xf32>
  %ok = amp.all_finite %u, %h : tensor<4xf32>, tensor<2x2xf32>
  %s1, %t1 = amp.update_scale %s, %t, %ok {growth_interval = 100 : i64} : tensor<f32>, tensor<i32>
  return %s1, %t1 : tensor<f32>, tensor<i32>
}

// -----

// CHECK-LABEL: func @frontend_ops
// CHECK: amp.random_uniform %{{.*}} {stream = 7 : i64} : tensor<2xi64> -> tensor<3x5xf32>
// CHECK: amp.stop_gradient %{{.*}} : tensor<3x5xf32>
func.func @frontend_ops(%rng: tensor<2xi64>) -> tensor<3x5xf32> {
  %u = amp.random_uniform %rng {stream = 7 : i64} : tensor<2xi64> -> tensor<3x5xf32>
  %s = amp.stop_gradient %u : tensor<3x5xf32>
  return %s : tensor<3x5xf32>
}

// -----

// CHECK-LABEL: func @collective_ops
// CHECK: %{{.+}}:2 = amp.all_reduce sum %{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<8xf32>
// CHECK: amp.all_reduce min %{{.+}} : tensor<i32>
// CHECK: amp.world_size : tensor<f32>
// CHECK: amp.all_reduce_in_place max %{{.+}} : memref<16xf32>
func.func @collective_ops(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %flag: tensor<i32>, %m: memref<16xf32>) -> tensor<f32> {
  %r:2 = amp.all_reduce sum %a, %b : tensor<4x8xf32>, tensor<8xf32>
  %f = amp.all_reduce min %flag : tensor<i32>
  %n = amp.world_size : tensor<f32>
  amp.all_reduce_in_place max %m : memref<16xf32>
  return %n : tensor<f32>
}
