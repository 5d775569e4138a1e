// A strided convolution, ReLU and a 2x2 max pool: the forward that
// test_cuda.py differentiates (ampc --train) to run convolution adjoints,
// spread-out gradients and pooling adjoints on the GPU.
func.func @convnet(%x: tensor<2x9x9x3xf32>, %w: tensor<3x3x3x8xf32>) -> tensor<2x2x2x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<2x4x4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<2x9x9x3xf32>, tensor<3x3x3x8xf32>) outs(%f : tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c : tensor<2x4x4x8xf32>) outs(%e : tensor<2x4x4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x4x4x8xf32>
  %pe = tensor.empty() : tensor<2x2x2x8xf32>
  %pf = linalg.fill ins(%ninf : f32) outs(%pe : tensor<2x2x2x8xf32>) -> tensor<2x2x2x8xf32>
  %k = tensor.empty() : tensor<2x2xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%r, %k : tensor<2x4x4x8xf32>, tensor<2x2xf32>) outs(%pf : tensor<2x2x2x8xf32>) -> tensor<2x2x2x8xf32>
  return %p : tensor<2x2x2x8xf32>
}
