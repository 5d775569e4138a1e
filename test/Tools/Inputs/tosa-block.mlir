// A TOSA block: ampc lowers it to linalg first, like amp-opt --amp-ingest.
func.func @block(%a: tensor<1x4x8xf32>, %b: tensor<1x8x16xf32>) -> tensor<1x4x16xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %m = tosa.matmul %a, %b, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %e = tosa.exp %m : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  return %e : tensor<1x4x16xf32>
}
