// A matmul whose output width (84) is above 32 and not a multiple of it:
// its bf16 tiles are masked, which LLVM expands into conversion helper calls
// on CPUs without AVX512-BF16.
func.func @f(%x: tensor<1x120xf32>) -> tensor<1x84xf32> {
  %w = arith.constant dense<0.5> : tensor<120x84xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x84xf32>
  %zf = linalg.fill ins(%z : f32) outs(%e : tensor<1x84xf32>) -> tensor<1x84xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x120xf32>, tensor<120x84xf32>) outs(%zf : tensor<1x84xf32>) -> tensor<1x84xf32>
  return %y : tensor<1x84xf32> }
