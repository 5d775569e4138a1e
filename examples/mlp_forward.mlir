// The forward pass of the two-layer MLP classifier of
// examples/mlp_training_step.mlir, and nothing else: logits from a batch and
// the weights. amp-differentiate builds the training step from it (softmax
// cross-entropy, reverse-mode backward, SGD), which is how the digits example
// trains:
//
//   ampc examples/mlp_forward.mlir -o step.so --precision=bf16 \
//       --train="loss=cross-entropy params=1,2,3,4 lr=0.1"
//   amp-opt examples/mlp_forward.mlir --amp-differentiate="loss=cross-entropy params=1,2,3,4 lr=0.1"
//
//   x: 32x64 batch, W1: 64x128, b1: 128, W2: 128x10, b2: 10 -> logits 32x10

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

func.func @mlp(%x: tensor<32x64xf32>, %W1: tensor<64x128xf32>, %b1: tensor<128xf32>,
               %W2: tensor<128x10xf32>, %b2: tensor<10xf32>) -> tensor<32x10xf32> {
  %zero = arith.constant 0.0 : f32
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
  return %logits : tensor<32x10xf32>
}
