// gpu.thread_id has no meaning on the CPU: ampc names it and where it is.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %i = gpu.thread_id x
  %c = arith.index_cast %i : index to i32
  %f = arith.sitofp %c : i32 to f32
  %s = tensor.splat %f : tensor<4xf32>
  %r = arith.addf %x, %s : tensor<4xf32>
  return %r : tensor<4xf32>
}
