// Linear regression whose loss is multiplied by 2^-30: in f16 its output
// gradients (about 1e-9) underflow to zero unless the loss is scaled.
//   loss = 2^-30 * sum((x @ w - y)^2),  SGD with lr = 2^22 (effective 2^-8)

#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

func.func @step(%w: tensor<16x4xf32> {amp.role = "param"},
                %x: tensor<64x16xf32> {amp.role = "input"},
                %y: tensor<64x4xf32> {amp.role = "label"})
    -> (tensor<16x4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %tiny = arith.constant 9.31322574615478515625e-10 : f32
  %two_tiny = arith.constant 1.86264514923095703125e-09 : f32
  %e = tensor.empty() : tensor<64x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x4xf32>) -> tensor<64x4xf32>
  %pred = linalg.matmul ins(%x, %w : tensor<64x16xf32>, tensor<16x4xf32>) outs(%z : tensor<64x4xf32>) -> tensor<64x4xf32>
  %diff = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%pred, %y : tensor<64x4xf32>, tensor<64x4xf32>) outs(%e : tensor<64x4xf32>) {
    ^bb0(%p: f32, %t: f32, %o: f32):
      %d = arith.subf %p, %t : f32
      linalg.yield %d : f32
  } -> tensor<64x4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%diff : tensor<64x4xf32>) outs(%z0 : tensor<f32>) {
    ^bb0(%d: f32, %acc: f32):
      %sq = arith.mulf %d, %d : f32
      %s = arith.mulf %sq, %tiny : f32
      %r = arith.addf %acc, %s : f32
      linalg.yield %r : f32
  } -> tensor<f32>
  %seed = amp.grad_seed %loss : tensor<f32>
  // dLoss/dpred = 2^-29 * diff * seed
  %dpred = linalg.generic {indexing_maps = [#id, #all, #id], iterator_types = ["parallel", "parallel"]}
      ins(%diff, %seed : tensor<64x4xf32>, tensor<f32>) outs(%e : tensor<64x4xf32>) {
    ^bb0(%d: f32, %s: f32, %o: f32):
      %g = arith.mulf %d, %two_tiny : f32
      %gs = arith.mulf %g, %s : f32
      linalg.yield %gs : f32
  } -> tensor<64x4xf32>
  %et = tensor.empty() : tensor<16x64xf32>
  %xt = linalg.transpose ins(%x : tensor<64x16xf32>) outs(%et : tensor<16x64xf32>) permutation = [1, 0]
  %ew = tensor.empty() : tensor<16x4xf32>
  %zw = linalg.fill ins(%zero : f32) outs(%ew : tensor<16x4xf32>) -> tensor<16x4xf32>
  %dw = linalg.matmul ins(%xt, %dpred : tensor<16x64xf32>, tensor<64x4xf32>) outs(%zw : tensor<16x4xf32>) -> tensor<16x4xf32>
  %w1 = amp.sgd %w, %dw {lr = 4194304.0 : f64} : tensor<16x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  return %w1, %loss : tensor<16x4xf32>, tensor<f32>
}
