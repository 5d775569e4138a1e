// RUN: amp-opt %s -split-input-file | amp-opt -split-input-file | FileCheck %s
// RUN: amp-opt %s -split-input-file -mlir-print-op-generic | amp-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @elementwise
// CHECK: aten.relu %{{.*}} : tensor<2x3xf32>
// CHECK: aten.gelu %{{.*}} {approximate = "tanh"} : tensor<2x3xf32>
// CHECK: aten.add %{{.*}}, %{{.*}} {alpha = 2.000000e+00 : f64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: aten.lt %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
// CHECK: aten.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: aten.to %{{.*}} : tensor<2x3xi1> -> tensor<2x3xf32>
func.func @elementwise(%x: tensor<2x3xf32>, %b: tensor<3xf32>, %s: tensor<f32>) -> tensor<2x3xf32> {
  %0 = aten.relu %x : tensor<2x3xf32>
  %1 = aten.gelu %0 {approximate = "tanh"} : tensor<2x3xf32>
  %2 = aten.add %1, %b {alpha = 2.0 : f64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = aten.lt %2, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi1>
  %4 = aten.where %3, %2, %s : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %5 = aten.to %3 : tensor<2x3xi1> -> tensor<2x3xf32>
  %6 = aten.mul %4, %5 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %6 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @products
// CHECK: aten.addmm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK: aten.convolution %{{.*}}, %{{.*}} bias(%{{.*}}) {dilation = array<i64: 1, 1>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
// CHECK: aten.embedding %{{.*}}, %{{.*}} {padding_idx = 0 : i64}
func.func @products(%b: tensor<4xf32>, %a: tensor<2x3xf32>, %w: tensor<3x4xf32>, %x: tensor<1x3x8x8xf32>,
                    %k: tensor<5x3x3x3xf32>, %kb: tensor<5xf32>, %table: tensor<10x4xf32>, %i: tensor<2x7xi64>)
    -> (tensor<2x4xf32>, tensor<1x5x4x4xf32>, tensor<2x7x4xf32>) {
  %0 = aten.addmm %b, %a, %w : (tensor<4xf32>, tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = aten.convolution %x, %k bias(%kb) {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>}
      : (tensor<1x3x8x8xf32>, tensor<5x3x3x3xf32>, tensor<5xf32>) -> tensor<1x5x4x4xf32>
  %2 = aten.embedding %table, %i {padding_idx = 0 : i64} : (tensor<10x4xf32>, tensor<2x7xi64>) -> tensor<2x7x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<1x5x4x4xf32>, tensor<2x7x4xf32>
}

// -----

// CHECK-LABEL: func @norms
// CHECK: aten.native_batch_norm %{{.*}} weight(%{{.*}}) bias(%{{.*}}) running(%{{.*}}, %{{.*}}) {eps = 1.000000e-05 : f64, momentum = 1.000000e-01 : f64, training = true}
// CHECK: aten.native_layer_norm %{{.*}} weight(%{{.*}}) {eps = 1.000000e-05 : f64, normalized_shape = array<i64: 4, 4>}
// CHECK: aten._softmax %{{.*}} {dim = 3 : i64} : tensor<2x3x4x4xf32>
func.func @norms(%x: tensor<2x3x4x4xf32>, %g: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %w: tensor<4x4xf32>)
    -> tensor<2x3x4x4xf32> {
  %y:5 = aten.native_batch_norm %x weight(%g) bias(%g) running(%m, %v) {training = true, momentum = 0.1 : f64, eps = 1.0e-5 : f64}
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
      -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  %n:3 = aten.native_layer_norm %y#0 weight(%w) {normalized_shape = array<i64: 4, 4>, eps = 1.0e-5 : f64}
      : (tensor<2x3x4x4xf32>, tensor<4x4xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x1x1xf32>, tensor<2x3x1x1xf32>)
  %s = aten._softmax %n#0 {dim = 3 : i64} : tensor<2x3x4x4xf32>
  return %s : tensor<2x3x4x4xf32>
}

// -----

// CHECK-LABEL: func @data_movement
// CHECK: aten.view %{{.*}} : tensor<2x3x4xf32> -> tensor<6x4xf32>
// CHECK: aten.permute %{{.*}} {dims = array<i64: 1, 0>}
// CHECK: aten.slice %{{.*}} {dim = 1 : i64, end = 5 : i64, start = 1 : i64, step = 2 : i64}
// CHECK: aten.split %{{.*}} {dim = 0 : i64} : tensor<4x6xf32> -> tensor<1x6xf32>, tensor<3x6xf32>
// CHECK: aten.cat %{{.*}}, %{{.*}} {dim = 0 : i64}
// CHECK: aten.index %{{.*}}[%{{.*}}] {indexed_dims = array<i64: 1>}
// CHECK: aten.bernoulli %{{.*}} {p = 5.000000e-01 : f64, stream = 3 : i64} : tensor<2xi64> -> tensor<4x6xf32>
func.func @data_movement(%x: tensor<2x3x4xf32>, %i: tensor<5xi64>, %rng: tensor<2xi64>) -> (tensor<4x2xf32>, tensor<4x5xf32>, tensor<4x6xf32>) {
  %0 = aten.view %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = aten.permute %0 {dims = array<i64: 1, 0>} : tensor<6x4xf32> -> tensor<4x6xf32>
  %2 = aten.slice %1 {dim = 1 : i64, start = 1 : i64, end = 5 : i64, step = 2 : i64} : tensor<4x6xf32> -> tensor<4x2xf32>
  %3:2 = aten.split %1 {dim = 0 : i64} : tensor<4x6xf32> -> tensor<1x6xf32>, tensor<3x6xf32>
  %4 = aten.cat %3#1, %3#0 {dim = 0 : i64} : (tensor<3x6xf32>, tensor<1x6xf32>) -> tensor<4x6xf32>
  %5 = aten.index %4[%i] {indexed_dims = array<i64: 1>} : (tensor<4x6xf32>, tensor<5xi64>) -> tensor<4x5xf32>
  %6 = aten.bernoulli %rng {p = 0.5 : f64, stream = 3 : i64} : tensor<2xi64> -> tensor<4x6xf32>
  return %2, %5, %6 : tensor<4x2xf32>, tensor<4x5xf32>, tensor<4x6xf32>
}
