// An exporter printed this model without its weights (dense_resource<__elided__>).
module {
  func.func @f(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
    %w = arith.constant dense_resource<__elided__> : tensor<4x3xf32>
    %z = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<2x3xf32>
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
    %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
    return %y : tensor<2x3xf32>
  }
}
