// An FP32 training step for a two-layer MLP classifier, written out by hand
// in the training-step contract (docs/training-step.md): forward (matmul,
// bias, ReLU, matmul, bias), softmax cross-entropy loss, the gradient seed,
// reverse-mode backward, and amp.sgd updates (lr = 0.1).
//
//   x: 32x64 batch, onehot: 32x10 labels, W1: 64x128, b1: 128, W2: 128x10, b2: 10
//   returns the updated W1, b1, W2, b2 and the mean loss.
//
// Try: amp-opt examples/mlp_training_step.mlir --amp-verify-training-step --amp-autocast --amp-cast-cleanup

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
#vec = affine_map<(d0) -> (d0)>

func.func @train_step(%x: tensor<32x64xf32> {amp.role = "input"},
                      %onehot: tensor<32x10xf32> {amp.role = "label"},
                      %W1: tensor<64x128xf32> {amp.role = "param"},
                      %b1: tensor<128xf32> {amp.role = "param"},
                      %W2: tensor<128x10xf32> {amp.role = "param"},
                      %b2: tensor<10xf32> {amp.role = "param"})
    -> (tensor<64x128xf32> {amp.role = "param"}, tensor<128xf32> {amp.role = "param"},
        tensor<128x10xf32> {amp.role = "param"}, tensor<10xf32> {amp.role = "param"},
        tensor<f32> {amp.role = "loss"})
    attributes {amp.training_step} {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %inv_batch = arith.constant 0.03125 : f32

  // ---- forward -------------------------------------------------------------
  %e32x128 = tensor.empty() : tensor<32x128xf32>
  %z32x128 = linalg.fill ins(%zero : f32) outs(%e32x128 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %h0 = linalg.matmul ins(%x, %W1 : tensor<32x64xf32>, tensor<64x128xf32>) outs(%z32x128 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %h = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h0, %b1 : tensor<32x128xf32>, tensor<128xf32>) outs(%e32x128 : tensor<32x128xf32>) {
    ^bb0(%v: f32, %b: f32, %o: f32):
      %s = arith.addf %v, %b : f32
      linalg.yield %s : f32
  } -> tensor<32x128xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<32x128xf32>) outs(%e32x128 : tensor<32x128xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.maximumf %v, %zero : f32
      linalg.yield %r : f32
  } -> tensor<32x128xf32>
  %e32x10 = tensor.empty() : tensor<32x10xf32>
  %z32x10 = linalg.fill ins(%zero : f32) outs(%e32x10 : tensor<32x10xf32>) -> tensor<32x10xf32>
  %l0 = linalg.matmul ins(%a, %W2 : tensor<32x128xf32>, tensor<128x10xf32>) outs(%z32x10 : tensor<32x10xf32>) -> tensor<32x10xf32>
  %logits = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%l0, %b2 : tensor<32x10xf32>, tensor<10xf32>) outs(%e32x10 : tensor<32x10xf32>) {
    ^bb0(%v: f32, %b: f32, %o: f32):
      %s = arith.addf %v, %b : f32
      linalg.yield %s : f32
  } -> tensor<32x10xf32>

  // ---- softmax cross-entropy ---------------------------------------------
  %e32 = tensor.empty() : tensor<32xf32>
  %max_init = linalg.fill ins(%ninf : f32) outs(%e32 : tensor<32xf32>) -> tensor<32xf32>
  %rowmax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<32x10xf32>) outs(%max_init : tensor<32xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %m = arith.maximumf %v, %acc : f32
      linalg.yield %m : f32
  } -> tensor<32xf32>
  %shifted = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%logits, %rowmax : tensor<32x10xf32>, tensor<32xf32>) outs(%e32x10 : tensor<32x10xf32>) {
    ^bb0(%v: f32, %m: f32, %o: f32):
      %d = arith.subf %v, %m : f32
      linalg.yield %d : f32
  } -> tensor<32x10xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%shifted : tensor<32x10xf32>) outs(%e32x10 : tensor<32x10xf32>) {
    ^bb0(%v: f32, %o: f32):
      %e = math.exp %v : f32
      linalg.yield %e : f32
  } -> tensor<32x10xf32>
  %sum_init = linalg.fill ins(%zero : f32) outs(%e32 : tensor<32xf32>) -> tensor<32xf32>
  %rowsum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<32x10xf32>) outs(%sum_init : tensor<32xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %v, %acc : f32
      linalg.yield %s : f32
  } -> tensor<32xf32>
  %logsum = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%rowsum : tensor<32xf32>) outs(%e32 : tensor<32xf32>) {
    ^bb0(%v: f32, %o: f32):
      %l = math.log %v : f32
      linalg.yield %l : f32
  } -> tensor<32xf32>
  %logp = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%shifted, %logsum : tensor<32x10xf32>, tensor<32xf32>) outs(%e32x10 : tensor<32x10xf32>) {
    ^bb0(%v: f32, %l: f32, %o: f32):
      %d = arith.subf %v, %l : f32
      linalg.yield %d : f32
  } -> tensor<32x10xf32>
  %e0 = tensor.empty() : tensor<f32>
  %loss_init = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logp : tensor<32x10xf32>, tensor<32x10xf32>) outs(%loss_init : tensor<f32>) {
    ^bb0(%y: f32, %lp: f32, %acc: f32):
      %p = arith.mulf %y, %lp : f32
      %q = arith.mulf %p, %inv_batch : f32
      %s = arith.subf %acc, %q : f32
      linalg.yield %s : f32
  } -> tensor<f32>

  // ---- backward ------------------------------------------------------------
  // dLoss/dlogits = dLoss/dLoss * (softmax - onehot) / batch
  %seed = amp.grad_seed %loss : tensor<f32>
  %dlogits = linalg.generic {indexing_maps = [#id, #row, #id, #all, #id], iterator_types = ["parallel", "parallel"]}
      ins(%exp, %rowsum, %onehot, %seed : tensor<32x10xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<f32>) outs(%e32x10 : tensor<32x10xf32>) {
    ^bb0(%e: f32, %s: f32, %y: f32, %dl: f32, %o: f32):
      %p = arith.divf %e, %s : f32
      %d = arith.subf %p, %y : f32
      %g = arith.mulf %d, %inv_batch : f32
      %gs = arith.mulf %g, %dl : f32
      linalg.yield %gs : f32
  } -> tensor<32x10xf32>
  %e128x32 = tensor.empty() : tensor<128x32xf32>
  %aT = linalg.transpose ins(%a : tensor<32x128xf32>) outs(%e128x32 : tensor<128x32xf32>) permutation = [1, 0]
  %e128x10 = tensor.empty() : tensor<128x10xf32>
  %z128x10 = linalg.fill ins(%zero : f32) outs(%e128x10 : tensor<128x10xf32>) -> tensor<128x10xf32>
  %dW2 = linalg.matmul ins(%aT, %dlogits : tensor<128x32xf32>, tensor<32x10xf32>) outs(%z128x10 : tensor<128x10xf32>) -> tensor<128x10xf32>
  %e10 = tensor.empty() : tensor<10xf32>
  %z10 = linalg.fill ins(%zero : f32) outs(%e10 : tensor<10xf32>) -> tensor<10xf32>
  %db2 = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%dlogits : tensor<32x10xf32>) outs(%z10 : tensor<10xf32>) {
    ^bb0(%g: f32, %acc: f32):
      %s = arith.addf %g, %acc : f32
      linalg.yield %s : f32
  } -> tensor<10xf32>
  %e10x128 = tensor.empty() : tensor<10x128xf32>
  %W2T = linalg.transpose ins(%W2 : tensor<128x10xf32>) outs(%e10x128 : tensor<10x128xf32>) permutation = [1, 0]
  %da = linalg.matmul ins(%dlogits, %W2T : tensor<32x10xf32>, tensor<10x128xf32>) outs(%z32x128 : tensor<32x128xf32>) -> tensor<32x128xf32>
  %dh = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %da : tensor<32x128xf32>, tensor<32x128xf32>) outs(%e32x128 : tensor<32x128xf32>) {
    ^bb0(%v: f32, %g: f32, %o: f32):
      %pos = arith.cmpf ogt, %v, %zero : f32
      %r = arith.select %pos, %g, %zero : f32
      linalg.yield %r : f32
  } -> tensor<32x128xf32>
  %e64x32 = tensor.empty() : tensor<64x32xf32>
  %xT = linalg.transpose ins(%x : tensor<32x64xf32>) outs(%e64x32 : tensor<64x32xf32>) permutation = [1, 0]
  %e64x128 = tensor.empty() : tensor<64x128xf32>
  %z64x128 = linalg.fill ins(%zero : f32) outs(%e64x128 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %dW1 = linalg.matmul ins(%xT, %dh : tensor<64x32xf32>, tensor<32x128xf32>) outs(%z64x128 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %e128 = tensor.empty() : tensor<128xf32>
  %z128 = linalg.fill ins(%zero : f32) outs(%e128 : tensor<128xf32>) -> tensor<128xf32>
  %db1 = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%dh : tensor<32x128xf32>) outs(%z128 : tensor<128xf32>) {
    ^bb0(%g: f32, %acc: f32):
      %s = arith.addf %g, %acc : f32
      linalg.yield %s : f32
  } -> tensor<128xf32>

  // ---- SGD ---------------------------------------------------------------
  %W1n = amp.sgd %W1, %dW1 {lr = 0.1 : f64} : tensor<64x128xf32>, tensor<64x128xf32> -> tensor<64x128xf32>
  %b1n = amp.sgd %b1, %db1 {lr = 0.1 : f64} : tensor<128xf32>, tensor<128xf32> -> tensor<128xf32>
  %W2n = amp.sgd %W2, %dW2 {lr = 0.1 : f64} : tensor<128x10xf32>, tensor<128x10xf32> -> tensor<128x10xf32>
  %b2n = amp.sgd %b2, %db2 {lr = 0.1 : f64} : tensor<10xf32>, tensor<10xf32> -> tensor<10xf32>
  return %W1n, %b1n, %W2n, %b2n, %loss : tensor<64x128xf32>, tensor<128xf32>, tensor<128x10xf32>, tensor<10xf32>, tensor<f32>
}
