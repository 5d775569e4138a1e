// RUN: amp-opt %s -split-input-file -amp-check-precision -verify-diagnostics
// RUN: not amp-opt %s -split-input-file -amp-check-precision=compute-type=bf16 2>&1 | FileCheck %s --check-prefix=BF16

// BF16: error: amp-check-precision: matmul-like op reads 'f16' input #0, expected 'bf16'

func.func @low_matmul_ok(%a: tensor<4x4xf16>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf16>, tensor<4x4xf16>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

func.func @f32_matmul(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{amp-check-precision: matmul-like op reads 'f32' input #0, expected 'f16'}}
  %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

func.func @pinned_f32_matmul_ok(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %m = linalg.matmul {amp.precision = "f32"} ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

func.func @f32_conv(%i: tensor<1x8x8x3xf32>, %f: tensor<3x3x3x4xf32>, %o: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  // expected-error @+1 {{matmul-like op reads 'f32' input #0}}
  %0 = linalg.conv_2d_nhwc_hwcf ins(%i, %f : tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>) outs(%o : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  return %0 : tensor<1x6x6x4xf32>
}

// -----

func.func @low_exp(%a: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error @+1 {{amp-check-precision: 'math.exp' computes in 'f16', expected f32}}
  %0 = math.exp %a : tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @low_log_in_payload(%a: tensor<4xbf16>) -> tensor<4xbf16> {
  // expected-error @+1 {{'math.log' computes in 'bf16', expected f32}}
  %0 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%a : tensor<4xbf16>) outs(%a : tensor<4xbf16>) {
    ^bb0(%x: bf16, %o: bf16):
      %y = math.log %x : bf16
      linalg.yield %y : bf16
  } -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

func.func @low_sum(%a: tensor<4x8xf16>, %acc: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error @+1 {{amp-check-precision: sum/product reduction accumulates in 'f16', expected f32}}
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf16>) outs(%acc : tensor<4xf16>) {
    ^bb0(%x: f16, %o: f16):
      %y = arith.addf %x, %o : f16
      linalg.yield %y : f16
  } -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @sum_stored_low(%a: tensor<4x8xf16>, %acc: tensor<4xf16>) -> tensor<4xf16> {
  // expected-error @+1 {{sum/product reduction stores its accumulator in 'f16', expected f32}}
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf16>) outs(%acc : tensor<4xf16>) {
    ^bb0(%x: f16, %o: f16):
      %xe = arith.extf %x : f16 to f32
      %oe = arith.extf %o : f16 to f32
      %y = arith.addf %xe, %oe : f32
      %t = arith.truncf %y : f32 to f16
      linalg.yield %t : f16
  } -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// Pooling is not matmul-like: sum pooling is infer (accumulating in f32) and
// max pooling is clear, so both may read f32 inputs, as autocast leaves them
// after a deny op.
func.func @f32_pooling_ok(%i: tensor<1x4x8x8xf32>, %k: tensor<2x2xf32>, %o: tensor<1x4x4x4xf32>)
    -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) {
  %s = linalg.pooling_nchw_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%i, %k : tensor<1x4x8x8xf32>, tensor<2x2xf32>) outs(%o : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %m = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%i, %k : tensor<1x4x8x8xf32>, tensor<2x2xf32>) outs(%o : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %s, %m : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>
}

// -----

// Low-precision inputs accumulated in f32 are fine too.
func.func @low_sum_pooling_ok(%i: tensor<1x8x8x4xf16>, %k: tensor<2x2xf16>, %o: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %s = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%i, %k : tensor<1x8x8x4xf16>, tensor<2x2xf16>) outs(%o : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %s : tensor<1x4x4x4xf32>
}

// -----

// ... but not in f16.
func.func @low_sum_pooling(%i: tensor<1x8x8x4xf16>, %k: tensor<2x2xf16>, %o: tensor<1x4x4x4xf16>) -> tensor<1x4x4x4xf16> {
  // expected-error @+1 {{sum/product reduction stores its accumulator in 'f16', expected f32}}
  %s = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%i, %k : tensor<1x8x8x4xf16>, tensor<2x2xf16>) outs(%o : tensor<1x4x4x4xf16>) -> tensor<1x4x4x4xf16>
  return %s : tensor<1x4x4x4xf16>
}
