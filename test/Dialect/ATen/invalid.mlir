// RUN: amp-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_mismatch(%x: tensor<2x3xf32>, %y: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{operand shapes do not broadcast together}}
  %0 = aten.add %x, %y : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wrong_result_shape(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{result shape (3, 3) is not the shape ATen computes (2, 3)}}
  %0 = aten.mul %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @dynamic(%x: tensor<?x3xf32>, %y: tensor<3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{needs static shapes, got 'tensor<?x3xf32>'}}
  %0 = aten.mul %x, %y : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @gelu_mode(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "sigmoid"}}
  %0 = aten.gelu %x {approximate = "sigmoid"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @mm_sizes(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{contracted sizes differ: 3 and 4}}
  %0 = aten.mm %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x6x6xf32> {
  // expected-error @+1 {{input channels (4) do not match the weight (5x3, groups 1)}}
  %0 = aten.convolution %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>}
      : (tensor<1x4x8x8xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x6x6xf32>
  return %0 : tensor<1x5x6x6xf32>
}

// -----

func.func @conv_output(%x: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x8x8xf32> {
  // expected-error @+1 {{result shape (1, 5, 8, 8) is not the shape ATen computes (1, 5, 6, 6)}}
  %0 = aten.convolution %x, %w {stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>}
      : (tensor<1x3x8x8xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x8x8xf32>
  return %0 : tensor<1x5x8x8xf32>
}

// -----

func.func @conv_stride_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x6x6xf32> {
  // expected-error @+1 {{stride needs 2 entries, got 1}}
  %0 = aten.convolution %x, %w {stride = array<i64: 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>}
      : (tensor<1x3x8x8xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x6x6xf32>
  return %0 : tensor<1x5x6x6xf32>
}

// -----

func.func @embedding_padding(%w: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xf32> {
  // expected-error @+1 {{padding_idx 10 is not a row of the weight}}
  %0 = aten.embedding %w, %i {padding_idx = 10 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @batch_norm_eval(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{eval mode needs running statistics}}
  %y:5 = aten.native_batch_norm %x {training = false, momentum = 0.1 : f64, eps = 1.0e-5 : f64}
      : (tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<0xf32>, tensor<0xf32>, tensor<0xf32>, tensor<0xf32>)
  return %y#0 : tensor<2x3x4xf32>
}

// -----

func.func @layer_norm_shape(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{normalized_shape must be the input's trailing shape}}
  %y:3 = aten.native_layer_norm %x {normalized_shape = array<i64: 3>, eps = 1.0e-5 : f64}
      : (tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x1xf32>, tensor<2x3x1xf32>)
  return %y#0 : tensor<2x3x4xf32>
}

// -----

func.func @group_norm_groups(%x: tensor<2x6x4xf32>) -> tensor<2x6x4xf32> {
  // expected-error @+1 {{channels (6) must divide into 4 groups}}
  %y:3 = aten.native_group_norm %x {group = 4 : i64, eps = 1.0e-5 : f64}
      : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  return %y#0 : tensor<2x6x4xf32>
}

// -----

func.func @softmax_dim(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{dim 2 is outside [0, 2)}}
  %0 = aten._softmax %x {dim = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @pool_ceil(%x: tensor<1x1x8x8xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{result shape (1, 1, 4, 4) is not the shape ATen computes (1, 1, 5, 5)}}
  %0 = aten.max_pool2d %x {kernel_size = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>,
                           dilation = array<i64: 1, 1>, ceil_mode = true} : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf32>
  return %0 : tensor<1x1x4x4xf32>
}

// -----

func.func @pool_padding(%x: tensor<1x1x8x8xf32>) -> tensor<1x1x5x5xf32> {
  // expected-error @+1 {{padding must be at most half the kernel size}}
  %0 = aten.avg_pool2d %x {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 2, 2>}
      : tensor<1x1x8x8xf32> -> tensor<1x1x5x5xf32>
  return %0 : tensor<1x1x5x5xf32>
}

// -----

func.func @view_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{changes the number of elements}}
  %0 = aten.view %x : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @permute_dims(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{dims must be a permutation of the 2 dimensions}}
  %0 = aten.permute %x {dims = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{needs 0 <= start <= end <= size and step >= 1}}
  %0 = aten.slice %x {dim = 0 : i64, start = -1 : i64, end = 1 : i64} : tensor<4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @split_pieces(%x: tensor<5xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{pieces add up to 4, not 5}}
  %0:2 = aten.split %x {dim = 0 : i64} : tensor<5xf32> -> tensor<2xf32>, tensor<2xf32>
  return %0#0 : tensor<2xf32>
}

// -----

func.func @index_dims(%x: tensor<4x6xf32>, %i: tensor<3xi64>) -> tensor<4x3xf32> {
  // expected-error @+1 {{indexed_dims must be ascending dimensions of self}}
  %0 = aten.index %x[%i] {indexed_dims = array<i64: 2>} : (tensor<4x6xf32>, tensor<3xi64>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @bernoulli_p(%rng: tensor<2xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{p must be in [0, 1], got 1.5}}
  %0 = aten.bernoulli %rng {p = 1.5 : f64, stream = 0 : i64} : tensor<2xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @rng_state(%rng: tensor<3xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{needs the random state as tensor<2xi64> (seed, offset)}}
  %0 = aten.rand %rng {stream = 0 : i64} : tensor<3xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
