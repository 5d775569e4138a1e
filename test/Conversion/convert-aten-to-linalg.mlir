// RUN: amp-opt %s -split-input-file --convert-aten-to-linalg | FileCheck %s

// CHECK-LABEL: func @relu_scalar_operand
// CHECK: linalg.generic
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// A splat constant operand is a scalar in the payload, not a tensor input.
// CHECK: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x3xf32>)
// CHECK: arith.mulf %{{.*}}, %[[TWO]] : f32
func.func @relu_scalar_operand(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = arith.constant dense<2.0> : tensor<f32>
  %0 = aten.relu %x : tensor<2x3xf32>
  %1 = aten.mul %0, %c : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @broadcast_compare
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK: arith.sitofp %{{.*}} : i64 to f32
// CHECK: arith.cmpf olt
func.func @broadcast_compare(%x: tensor<2x3xf32>, %i: tensor<3xi64>) -> tensor<2x3xi1> {
  %0 = aten.lt %x, %i : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<2x3xi1>
  return %0 : tensor<2x3xi1>
}

// -----

// CHECK-LABEL: func @linear
// CHECK: %[[T:.*]] = linalg.transpose ins(%{{.*}} : tensor<4x3xf32>) {{.*}} permutation = [1, 0]
// CHECK: %[[MM:.*]] = linalg.matmul ins(%{{.*}}, %[[T]] : tensor<2x3xf32>, tensor<3x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[MM]] : tensor<4xf32>, tensor<2x4xf32>)
// CHECK: arith.addf
func.func @linear(%b: tensor<4xf32>, %a: tensor<2x3xf32>, %w: tensor<4x3xf32>) -> tensor<2x4xf32> {
  %t = aten.permute %w {dims = array<i64: 1, 0>} : tensor<4x3xf32> -> tensor<3x4xf32>
  %0 = aten.addmm %b, %a, %t : (tensor<4xf32>, tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @conv_depthwise
// CHECK: %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[W:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<4x1x3x3xf32> into tensor<4x3x3xf32>
// CHECK: linalg.depthwise_conv_2d_nchw_chw {{.*}} ins(%[[P]], %[[W]]
func.func @conv_depthwise(%x: tensor<1x4x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %0 = aten.convolution %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 4 : i64}
      : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

// CHECK-LABEL: func @conv_transposed
// The input spread out by the stride, padded by the kernel's reach less the
// padding (plus output_padding after), the kernel flipped.
// CHECK: %[[S:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 4, 4, 4] [1, 1, 2, 2] : tensor<1x4x4x4xf32> into tensor<1x4x7x7xf32>
// CHECK: %[[P:.*]] = tensor.pad %[[S]] low[0, 0, 1, 1] high[0, 0, 2, 2]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1, 3, 4]
// CHECK: %[[F:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}]
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%[[P]], %[[F]]
func.func @conv_transposed(%x: tensor<1x4x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32> {
  %0 = aten.convolution %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>,
                                transposed = true, output_padding = array<i64: 1, 1>}
      : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  return %0 : tensor<1x2x8x8xf32>
}

// -----

// CHECK-LABEL: func @embedding_padding
// CHECK: %[[FROZEN:.*]] = amp.stop_gradient %[[W:.*]] : tensor<10x4xf32>
// CHECK: linalg.generic
// CHECK: %[[V:.*]] = tensor.extract %[[W]]
// CHECK: %[[PAD:.*]] = arith.cmpi eq
// CHECK: %[[K:.*]] = tensor.extract %[[FROZEN]]
// CHECK: arith.select %[[PAD]], %[[K]], %[[V]]
func.func @embedding_padding(%w: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xf32> {
  %0 = aten.embedding %w, %i {padding_idx = 0 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func @softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: math.log
// CHECK-NEXT: arith.subf
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = aten._log_softmax %x {dim = 1 : i64} : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func @avg_pool_ceil
// ceil_mode's last window starts inside the input; PyTorch divides it by
// the part inside (the padded input).
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
// CHECK: arith.constant dense<{{\[}}[4.000000e+00, 4.000000e+00, 2.000000e+00], [4.000000e+00, 4.000000e+00, 2.000000e+00], [2.000000e+00, 2.000000e+00, 1.000000e+00]]> : tensor<3x3xf32>
// CHECK: arith.divf
func.func @avg_pool_ceil(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %0 = aten.avg_pool2d %x {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, ceil_mode = true}
      : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
  return %0 : tensor<1x1x3x3xf32>
}

// -----

// CHECK-LABEL: func @roll
// CHECK: %[[TAIL:.*]] = tensor.extract_slice %{{.*}}[0, 4] [4, 2] [1, 1]
// CHECK: %[[HEAD:.*]] = tensor.extract_slice %{{.*}}[0, 0] [4, 4] [1, 1]
// CHECK: tensor.concat dim(1) %[[TAIL]], %[[HEAD]]
func.func @roll(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = aten.roll %x {shifts = array<i64: 2>, dims = array<i64: 1>} : tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// The index tensors broadcast together ((2, 1) and (3,) to (2, 3)).
// CHECK-DAG: #[[I:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[J:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @index
// CHECK: linalg.generic {indexing_maps = [#[[I]], #[[J]], #{{.*}}]
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<4x6xf32>
func.func @index(%x: tensor<4x6xf32>, %i: tensor<2x1xi64>, %j: tensor<3xi64>) -> tensor<2x3xf32> {
  %0 = aten.index %x[%i, %j] {indexed_dims = array<i64: 0, 1>} : (tensor<4x6xf32>, tensor<2x1xi64>, tensor<3xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @dropout_mask
// CHECK: %[[U:.*]] = amp.random_uniform %{{.*}} {stream = 2 : i64} : tensor<2xi64> -> tensor<4x6xf32>
// CHECK: linalg.generic {{.*}} ins(%[[U]]
// CHECK: %[[HIT:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.select %[[HIT]]
func.func @dropout_mask(%rng: tensor<2xi64>) -> tensor<4x6xf32> {
  %0 = aten.bernoulli %rng {p = 0.9 : f64, stream = 2 : i64} : tensor<2xi64> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func @detach
// CHECK: amp.stop_gradient %{{.*}} : tensor<4xf32>
func.func @detach(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = aten.detach %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
