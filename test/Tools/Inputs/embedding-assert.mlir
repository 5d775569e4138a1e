// An embedding lookup with a bounds check in its payload (torch-mlir writes
// it this way); 1x32x32 tiles exactly, so no tile guard wraps the assert.
func.func @embed(%ids: tensor<1x32xi64>, %table: tensor<100x32xf32>) -> tensor<1x32x32xf32> {
  %e = tensor.empty() : tensor<1x32x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids : tensor<1x32xi64>) outs(%e : tensor<1x32x32xf32>) {
  ^bb0(%id: i64, %o: f32):
    %c100 = arith.constant 100 : i64
    %c0 = arith.constant 0 : i64
    %lt = arith.cmpi slt, %id, %c100 : i64
    %ge = arith.cmpi sge, %id, %c0 : i64
    %ok = arith.andi %lt, %ge : i1
    cf.assert %ok, "index must be smaller than dim size"
    %i = arith.index_cast %id : i64 to index
    %j = linalg.index 2 : index
    %v = tensor.extract %table[%i, %j] : tensor<100x32xf32>
    linalg.yield %v : f32
  } -> tensor<1x32x32xf32>
  return %r : tensor<1x32x32xf32>
}
