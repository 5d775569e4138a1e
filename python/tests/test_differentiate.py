"""amp-differentiate, checked by finite differences on the CPU: for every
gradient rule, a small forward function is turned into an FP32 training step
(`ampc --train`, SGD with lr = 1, so the gradient is param - param'), and
the gradient is compared with central differences of the loss the same
step returns. Bar: relative L2 error 1e-2 over the sampled entries (f32)."""
import os
import zlib

import numpy as np
import pytest

import ampc

ID2 = "affine_map<(i, j) -> (i, j)>"


def random_arguments(rng, arguments):
    """Random f32 arrays for a step's tensors; run-time hyperparameters
    (f64 scalars) at their initial values."""
    return [np.array(a["init"], dtype=np.float64) if a.get("role") == "hyperparameter"
            else rng.standard_normal(a["shape"]).astype(np.float32) for a in arguments]


def elementwise(shape, body, name="f"):
    """A one-input elementwise generic with payload `body` (uses %a, yields %r)."""
    t = "tensor<%sxf32>" % "x".join(map(str, shape))
    rank = len(shape)
    dims = ", ".join("d%d" % i for i in range(rank))
    m = "affine_map<(%s) -> (%s)>" % (dims, dims)
    return """
func.func @%s(%%x: %s) -> %s {
  %%e = tensor.empty() : %s
  %%y = linalg.generic {indexing_maps = [%s, %s], iterator_types = [%s]}
      ins(%%x : %s) outs(%%e : %s) {
  ^bb0(%%a: f32, %%o: f32):
%s
    linalg.yield %%r : f32
  } -> %s
  return %%y : %s
}""" % (name, t, t, t, m, m, ", ".join(['"parallel"'] * rank), t, t, body, t, t)


RULES = {
    # name: (forward MLIR, param argument numbers, input shapes in argument order)
    "matmul": ("""
func.func @f(%x: tensor<4x3xf32>, %w: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%f : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}""", [0, 1], [(4, 3), (3, 5)]),
    "matmul_transpose_b": ("""
func.func @f(%x: tensor<4x3xf32>, %w: tensor<5x3xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x5xf32>) -> tensor<4x5xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<4x3xf32>, tensor<5x3xf32>) outs(%f : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}""", [0, 1], [(4, 3), (5, 3)]),
    "batch_matmul": ("""
func.func @f(%x: tensor<2x4x3xf32>, %w: tensor<2x3x5xf32>) -> tensor<2x4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x5xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  %y = linalg.batch_matmul ins(%x, %w : tensor<2x4x3xf32>, tensor<2x3x5xf32>) outs(%f : tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  return %y : tensor<2x4x5xf32>
}""", [0, 1], [(2, 4, 3), (2, 3, 5)]),
    "conv_2d_nhwc_hwcf_stride2": ("""
func.func @f(%x: tensor<1x7x7x2xf32>, %w: tensor<3x3x2x4xf32>) -> tensor<1x3x3x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x3x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x3x4xf32>) -> tensor<1x3x3x4xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x7x7x2xf32>, tensor<3x3x2x4xf32>) outs(%f : tensor<1x3x3x4xf32>) -> tensor<1x3x3x4xf32>
  return %y : tensor<1x3x3x4xf32>
}""", [0, 1], [(1, 7, 7, 2), (3, 3, 2, 4)]),
    "conv_2d_nchw_fchw_dilated": ("""
func.func @f(%x: tensor<2x2x6x6xf32>, %w: tensor<3x2x2x2xf32>) -> tensor<2x3x4x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x4x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x2x6x6xf32>, tensor<3x2x2x2xf32>) outs(%f : tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}""", [0, 1], [(2, 2, 6, 6), (3, 2, 2, 2)]),
    "depthwise_conv_2d_nhwc_hwc": ("""
func.func @f(%x: tensor<1x5x5x3xf32>, %w: tensor<3x3x3xf32>) -> tensor<1x3x3x3xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x3x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %y = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x5x5x3xf32>, tensor<3x3x3xf32>) outs(%f : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}""", [0, 1], [(1, 5, 5, 3), (3, 3, 3)]),
    "pooling_nhwc_max": ("""
func.func @f(%x: tensor<1x6x6x2xf32>) -> tensor<1x3x3x2xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %k = tensor.empty() : tensor<2x2xf32>
  %y = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %k : tensor<1x6x6x2xf32>, tensor<2x2xf32>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}""", [0], [(1, 6, 6, 2)]),
    "pooling_nhwc_sum_avg": ("""
func.func @f(%x: tensor<1x5x5x2xf32>) -> tensor<1x3x3x2xf32> {
  %z = arith.constant 0.0 : f32
  %ninth = arith.constant 0.111111111 : f32
  %e = tensor.empty() : tensor<1x3x3x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %k = tensor.empty() : tensor<3x3xf32>
  %s = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %k : tensor<1x5x5x2xf32>, tensor<3x3xf32>) outs(%f : tensor<1x3x3x2xf32>) -> tensor<1x3x3x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x3x3x2xf32>) outs(%e : tensor<1x3x3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %ninth : f32
    linalg.yield %r : f32
  } -> tensor<1x3x3x2xf32>
  return %y : tensor<1x3x3x2xf32>
}""", [0], [(1, 5, 5, 2)]),
    "exp_log_tanh": (elementwise((3, 4), """
    %e1 = math.exp %a : f32
    %sq = arith.mulf %a, %a : f32
    %one = arith.constant 1.0 : f32
    %p1 = arith.addf %sq, %one : f32
    %l = math.log %p1 : f32
    %t = math.tanh %a : f32
    %s1 = arith.addf %e1, %l : f32
    %r = arith.subf %s1, %t : f32"""), [0], [(3, 4)]),
    "erf_sqrt_rsqrt_pow": (elementwise((3, 4), """
    %one = arith.constant 1.0 : f32
    %two = arith.constant 2.0 : f32
    %c15 = arith.constant 1.5 : f32
    %sq = arith.mulf %a, %a : f32
    %p1 = arith.addf %sq, %one : f32
    %p2 = arith.addf %sq, %two : f32
    %er = math.erf %a : f32
    %s = math.sqrt %p1 : f32
    %rs = math.rsqrt %p2 : f32
    %pw = math.powf %p1, %c15 : f32
    %a1 = arith.addf %er, %s : f32
    %a2 = arith.mulf %a1, %rs : f32
    %r = arith.addf %a2, %pw : f32"""), [0], [(3, 4)]),
    "div_neg_sigmoid": (elementwise((3, 4), """
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e1 = math.exp %n : f32
    %d = arith.addf %one, %e1 : f32
    %sig = arith.divf %one, %d : f32
    %r = arith.mulf %a, %sig : f32"""), [0], [(3, 4)]),
    "select_max_min": (elementwise((3, 4), """
    %z = arith.constant 0.0 : f32
    %h = arith.constant 0.5 : f32
    %c = arith.cmpf ogt, %a, %z : f32
    %m = arith.mulf %a, %h : f32
    %s = arith.select %c, %a, %m : f32
    %mx = arith.maximumf %s, %h : f32
    %mn = arith.minimumf %a, %z : f32
    %r = arith.addf %mx, %mn : f32"""), [0], [(3, 4)]),
    "reduce_sum_and_broadcast": ("""
func.func @f(%x: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<3x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %s = linalg.reduce ins(%x : tensor<3x4xf32>) outs(%f : tensor<3xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %sq = arith.mulf %in, %in : f32
      %r = arith.addf %sq, %acc : f32
      linalg.yield %r : f32
    }
  %e2 = tensor.empty() : tensor<3x4xf32>
  %bs = linalg.broadcast ins(%s : tensor<3xf32>) outs(%e2 : tensor<3x4xf32>) dimensions = [1]
  %bb = linalg.broadcast ins(%b : tensor<4xf32>) outs(%e2 : tensor<3x4xf32>) dimensions = [0]
  %y = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bs, %bb, %x : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) outs(%e2 : tensor<3x4xf32>) {
  ^bb0(%p: f32, %q: f32, %u: f32, %o: f32):
    %t = arith.mulf %p, %q : f32
    %r = arith.addf %t, %u : f32
    linalg.yield %r : f32
  } -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}""".replace("#id", ID2), [0, 1], [(3, 4), (4,)]),
    "reduce_max_softmax": ("""
func.func @f(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x5xf32>) outs(%f : tensor<3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.cmpf ogt, %a, %o : f32
    %r = arith.select %c, %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<3xf32>
  %e2 = tensor.empty() : tensor<3x5xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<3x5xf32>, tensor<3xf32>) outs(%e2 : tensor<3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<3x5xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<3x5xf32>) outs(%f2 : tensor<3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<3xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %s : tensor<3x5xf32>, tensor<3xf32>) outs(%e2 : tensor<3x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}""".replace("#id", ID2).replace("#row", "affine_map<(i, j) -> (i)>"), [0], [(3, 5)]),
    "transpose_reshape_slices": ("""
func.func @f(%x: tensor<2x6xf32>, %w: tensor<3x4xf32>) -> tensor<4x5xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x2xf32>
  %t = linalg.transpose ins(%x : tensor<2x6xf32>) outs(%e : tensor<6x2xf32>) permutation = [1, 0]
  %c = tensor.collapse_shape %t [[0, 1]] : tensor<6x2xf32> into tensor<12xf32>
  %r = tensor.expand_shape %c [[0, 1]] output_shape [3, 4] : tensor<12xf32> into tensor<3x4xf32>
  %s = tensor.extract_slice %r[1, 0] [2, 4] [1, 1] : tensor<3x4xf32> to tensor<2x4xf32>
  %i = tensor.insert_slice %s into %w[0, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<3x4xf32>
  %p = tensor.pad %i low[1, 0] high[0, 1] {
  ^bb0(%a: index, %b: index):
    tensor.yield %z : f32
  } : tensor<3x4xf32> to tensor<4x5xf32>
  %e2 = tensor.empty() : tensor<4x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<4x5xf32>) outs(%e2 : tensor<4x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    linalg.yield %q : f32
  } -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}""".replace("#id", ID2), [0, 1], [(2, 6), (3, 4)]),
    "concat_fanout_copy": ("""
func.func @f(%x: tensor<2x3xf32>, %w: tensor<2x2xf32>) -> tensor<2x5xf32> {
  %e = tensor.empty() : tensor<2x3xf32>
  %c = linalg.copy ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %k = tensor.concat dim(1) %c, %w : (tensor<2x3xf32>, tensor<2x2xf32>) -> tensor<2x5xf32>
  %e2 = tensor.empty() : tensor<2x5xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%k, %k : tensor<2x5xf32>, tensor<2x5xf32>) outs(%e2 : tensor<2x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.mulf %a, %b : f32
    %r = arith.addf %q, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}""".replace("#id", ID2), [0, 1], [(2, 3), (2, 2)]),
    "linalg_softmax": ("""
func.func @f(%x: tensor<3x5xf32>, %w: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %e = tensor.empty() : tensor<3x5xf32>
  %m = arith.mulf %x, %w : tensor<3x5xf32>
  %y = linalg.softmax dimension(1) ins(%m : tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}""", [0, 1], [(3, 5), (3, 5)]),
    # torch-mlir's aten.max.dim: the max and its argmax in one reduction,
    # only the max used (a softmax's shift).
    "reduce_max_with_argmax": ("""
func.func @f(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : i64
  %e = tensor.empty() : tensor<4xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %ei = tensor.empty() : tensor<4xi64>
  %i0 = linalg.fill ins(%c0 : i64) outs(%ei : tensor<4xi64>) -> tensor<4xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x6xf32>) outs(%m0, %i0 : tensor<4xf32>, tensor<4xi64>) {
  ^bb0(%in: f32, %out: f32, %idx: i64):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i64
    %max = arith.maximumf %in, %out : f32
    %gt = arith.cmpf ogt, %in, %out : f32
    %sel = arith.select %gt, %ji, %idx : i64
    linalg.yield %max, %sel : f32, i64
  } -> (tensor<4xf32>, tensor<4xi64>)
  %ey = tensor.empty() : tensor<4x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %r#0 : tensor<4x6xf32>, tensor<4xf32>) outs(%ey : tensor<4x6xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %ex = math.exp %d : f32
    linalg.yield %ex : f32
  } -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}""", [0], [(4, 6)]),
    # torch-mlir's adaptive average pooling: the payload gathers its input
    # with tensor.extract at indices it computes (scatter-add adjoint).
    "gather_in_payload_adaptive_pool": ("""
func.func @f(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %c5 = arith.constant 5 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %k = tensor.empty() : tensor<3x3xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(n, c, i, j, p, q) -> (p, q)>, affine_map<(n, c, i, j, p, q) -> (n, c, i, j)>],
                         iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%k : tensor<3x3xf32>) outs(%acc : tensor<1x2x2x2xf32>) {
  ^bb0(%unused: f32, %out: f32):
    %n = linalg.index 0 : index
    %c = linalg.index 1 : index
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %p = linalg.index 4 : index
    %q = linalg.index 5 : index
    // start = i * 5 / 2, end = ((i + 1) * 5 + 1) / 2
    %i5 = arith.muli %i, %c5 : index
    %hs = arith.divui %i5, %c2 : index
    %i1 = arith.addi %i, %c1 : index
    %i15 = arith.muli %i1, %c5 : index
    %i15r = arith.addi %i15, %c1 : index
    %he = arith.divui %i15r, %c2 : index
    %j5 = arith.muli %j, %c5 : index
    %ws = arith.divui %j5, %c2 : index
    %j1 = arith.addi %j, %c1 : index
    %j15 = arith.muli %j1, %c5 : index
    %j15r = arith.addi %j15, %c1 : index
    %we = arith.divui %j15r, %c2 : index
    %h = arith.addi %hs, %p : index
    %w = arith.addi %ws, %q : index
    %hin = arith.cmpi ult, %h, %he : index
    %win = arith.cmpi ult, %w, %we : index
    %in = arith.andi %hin, %win : i1
    %v = tensor.extract %x[%n, %c, %h, %w] : tensor<1x2x5x5xf32>
    %picked = arith.select %in, %v, %zero : f32
    %s = arith.addf %picked, %out : f32
    linalg.yield %s : f32
  } -> tensor<1x2x2x2xf32>
  return %sum : tensor<1x2x2x2xf32>
}""", [0], [(1, 2, 5, 5)]),
    "elementwise_tensor_arith": ("""
func.func @f(%x: tensor<3x4xf32>, %w: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %m = arith.mulf %x, %w : tensor<3x4xf32>
  %t = math.tanh %m : tensor<3x4xf32>
  %y = arith.subf %t, %x : tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}""", [0, 1], [(3, 4), (3, 4)]),
}


def compile_step(text, tmp_path, params, loss="mse"):
    # A fresh name per library: dlopen would hand back one loaded earlier.
    stem = "step%d" % len(list(tmp_path.glob("step*.mlir")))
    path = tmp_path / (stem + ".mlir")
    path.write_text(text)
    library = ampc.compile(str(path), output=str(tmp_path / (stem + ".so")), precision="fp32", hyperparameters=(),
                           train={"loss": loss, "params": ",".join(map(str, params)), "lr": 1.0})
    module = ampc.load(library)
    return module, module.train_step


def check_gradients(step, args, params, rng, h=1e-2, samples=8):
    """args: every argument of the step in order; params: their argument numbers."""
    *new_params, _ = step(*args)
    worst = 0.0
    for k, index in enumerate(params):
        grad = (args[index].astype(np.float64) - new_params[k]).ravel()
        flat = args[index].ravel()
        picks = rng.choice(flat.size, size=min(samples, flat.size), replace=False)
        numeric = []
        for p in picks:
            def loss_at(delta):
                moved = [a.copy() for a in args]
                moved[index].ravel()[p] = flat[p] + delta
                return float(step(*moved)[-1])
            numeric.append((loss_at(h) - loss_at(-h)) / (2 * h))
        numeric, analytic = np.array(numeric), grad[picks]
        error = np.linalg.norm(numeric - analytic) / max(np.linalg.norm(numeric), 1e-6)
        assert error < 1e-2, "param #%d: relative error %.2e\nnumeric  %s\nanalytic %s" % (
            index, error, numeric, analytic)
        worst = max(worst, error)
    return worst


@pytest.mark.parametrize("rule", sorted(RULES))
def test_gradient_matches_finite_differences(rule, tmp_path):
    text, params, shapes = RULES[rule]
    _, step = compile_step(text, tmp_path, params)
    # A seed stable across runs (str hashes are randomized per process): the
    # piecewise rules have kinks that a random draw could land next to.
    rng = np.random.default_rng(zlib.crc32(rule.encode()))
    args = random_arguments(rng, step.arguments)
    assert [tuple(args[i].shape) for i in range(len(shapes))] == [tuple(s) for s in shapes]
    check_gradients(step, args, params, rng)


def test_cross_entropy_and_loss_none(tmp_path):
    text, params, _ = RULES["matmul"]
    _, step = compile_step(text, tmp_path, params, loss="cross-entropy")
    rng = np.random.default_rng(1)
    args = random_arguments(rng, step.arguments)
    args[2] = np.eye(5, dtype=np.float32)[rng.integers(0, 5, size=4)]  # one-hot labels
    check_gradients(step, args, params, rng)
    # Cross-entropy against numpy.
    logits = args[0].astype(np.float64) @ args[1]
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    assert abs(float(step(*args)[-1]) - (-(args[2] * logp).sum() / 4)) < 1e-5

    scalar = """
func.func @f(%x: tensor<4xf32>) -> tensor<1xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1xf32>) -> tensor<1xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (0)>], iterator_types = ["reduction"]}
      ins(%x : tensor<4xf32>) outs(%f : tensor<1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = math.cos %a : f32
    %r = arith.addf %o, %c : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  return %y : tensor<1xf32>
}"""
    _, step = compile_step(scalar, tmp_path, [0], loss="none")
    x = rng.standard_normal(4).astype(np.float32)
    new_x, loss = step(x)
    np.testing.assert_allclose(loss, np.cos(x.astype(np.float64)).sum(), rtol=1e-6)
    np.testing.assert_allclose(x - new_x, -np.sin(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_cross_entropy_with_class_numbers_equals_one_hot(tmp_path):
    """labels=indices (i64 class numbers, as torch's cross_entropy takes them)
    trains exactly like the same labels given one-hot."""
    text, params, _ = RULES["batch_matmul"]  # logits 2x4x5: classes over the last dimension
    steps = {}
    for labels in ("one-hot", "indices"):
        stem = "ce_" + labels
        (tmp_path / (stem + ".mlir")).write_text(text)
        steps[labels] = ampc.load(ampc.compile(
            str(tmp_path / (stem + ".mlir")), output=str(tmp_path / (stem + ".so")), precision="fp32", hyperparameters=(),
            train="loss=cross-entropy labels=%s params=0,1 lr=0.5" % labels))
    label_spec = [a for a in steps["indices"].train_step.arguments if a.get("role") == "label"][0]
    assert label_spec["dtype"] == "int64" and label_spec["shape"] == [2, 4]
    rng = np.random.default_rng(5)
    params_init = [rng.standard_normal(s).astype(np.float32) for s in [(2, 4, 3), (2, 3, 5)]]
    classes = rng.integers(0, 5, size=(2, 4))
    onehot = np.eye(5, dtype=np.float32)[classes]
    for module in steps.values():
        module.init_state(params_init)
    for _ in range(3):
        a = steps["one-hot"].step(onehot)
        b = steps["indices"].step(classes.astype(np.int64))
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip(steps["one-hot"].params(), steps["indices"].params()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_hoisted_constants_train(tmp_path):
    """params=auto: weights held as constants become params with initial values."""
    text = """
func.func @model(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %z = arith.constant 0.0 : f32
  %w = arith.constant dense<[[0.5, -0.2, 0.1], [0.3, 0.8, -0.5], [-0.7, 0.2, 0.4], [0.1, -0.3, 0.9]]> : tensor<4x3xf32>
  %e = tensor.empty() : tensor<8x3xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x3xf32>) -> tensor<8x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x3xf32>) outs(%f : tensor<8x3xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}"""
    path = tmp_path / "model.mlir"
    path.write_text(text)
    module = ampc.load(ampc.compile(str(path), output=str(tmp_path / "m.so"), precision="bf16",
                                    train={"loss": "mse", "optimizer": "adam", "lr": 0.05}))
    (w0,) = module.initial_params()
    np.testing.assert_allclose(w0[0], [0.5, -0.2, 0.1], rtol=1e-6)
    module.init_state()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    target = x @ rng.standard_normal((4, 3)).astype(np.float32)
    losses = [module.step(x, target) for _ in range(30)]
    assert losses[-1] < 0.2 * losses[0], losses


def test_generated_step_equals_hand_written(tmp_path):
    """examples/mlp_forward.mlir through amp-differentiate computes what the
    hand-written examples/mlp_training_step.mlir computes: same loss and
    params over three SGD steps (FP32; only summation order may differ)."""
    root = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    generated = ampc.load(ampc.compile(os.path.join(root, "mlp_forward.mlir"),
                                       output=str(tmp_path / "generated.so"), precision="fp32", hyperparameters=(),
                                       train="loss=cross-entropy params=1,2,3,4 lr=0.1"))
    written = ampc.load(ampc.compile(os.path.join(root, "mlp_training_step.mlir"),
                                     output=str(tmp_path / "written.so"), precision="fp32"))
    rng = np.random.default_rng(3)
    params = [0.1 * rng.standard_normal(s).astype(np.float32) for s in [(64, 128), (128,), (128, 10), (10,)]]
    generated.init_state(params)
    written.init_state(params)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=32)]
    for _ in range(3):
        np.testing.assert_allclose(generated.step(x, y), written.step(x, y), rtol=1e-6)
    for a, b in zip(generated.params(), written.params()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


MAXPOOL_NCHW = """
func.func @f(%x: tensor<1x2x4x4xf32>, %w: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %k = tensor.empty() : tensor<2x2xf32>
  %p = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %k : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%f : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %y = arith.mulf %p, %w : tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}"""


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(tmp_path):
    """Tied window maxima (blank image regions, a ReLU's zeros): the whole
    gradient goes to the first maximum in the window's row-major order, as
    torch.nn.functional.max_pool2d's backward sends it; never to every tie."""
    _, step = compile_step(MAXPOOL_NCHW, tmp_path, [0, 1])
    x = np.zeros((1, 2, 4, 4), np.float32)
    x[0, 0, :2, :2] = [[1.0, 3.0], [3.0, 3.0]]   # a three-way tie, first at (0, 1)
    x[0, 1, 2:, 2:] = [[-1.0, -1.0], [-1.0, -1.0]]  # all four tied
    w = np.arange(1, 9, dtype=np.float32).reshape(1, 2, 2, 2)
    label = np.zeros((1, 2, 2, 2), np.float32)
    new_x, _, _ = step(x, w, label)
    grad = x - new_x
    pooled = x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5))
    dy = 2 * (pooled * w - label) / label.size * w   # d mse / d pooled
    windows = grad.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 2, 4)
    assert (np.count_nonzero(windows, axis=-1) <= 1).all(), "more than one element per window"
    np.testing.assert_allclose(windows.sum(-1), dy, rtol=1e-6)
    assert grad[0, 0, 0, 1] == pytest.approx(dy[0, 0, 0, 0]) and grad[0, 0, 1, 0] == 0
    assert grad[0, 1, 2, 2] == pytest.approx(dy[0, 1, 1, 1])
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    xt = torch.tensor(x, requires_grad=True)
    loss = ((torch.nn.functional.max_pool2d(xt, 2) * torch.tensor(w) - torch.tensor(label)) ** 2).mean()
    loss.backward()
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-6, atol=1e-9)


RELU_SCALED = """
func.func @f(%x: tensor<2x4xf32>, %s: tensor<2x4xf32>) -> tensor<f32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.maximumf %a, %z : f32
    %p = arith.mulf %m, %b : f32
    linalg.yield %p : f32
  } -> tensor<2x4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %y = linalg.generic {indexing_maps = [#id, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%r : tensor<2x4xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %o, %a : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %y : tensor<f32>
}""".replace("#id", ID2)


def test_relu_backward_selects_an_infinite_adjoint_instead_of_multiplying(tmp_path):
    """d/dx of sum(relu(x) * s) with s = inf at an inactive unit: 0 there (the
    adjoint is selected, as threshold_backward does), inf where active; an
    indicator multiplied in would give inf * 0 = NaN."""
    _, step = compile_step(RELU_SCALED, tmp_path, [0], loss="none")
    x = np.array([[-1.0, 2.0, -3.0, 4.0], [0.0, 1.0, -2.0, 3.0]], np.float32)
    s = np.array([[np.inf, 1.0, 2.0, np.inf], [np.inf, 3.0, 4.0, 5.0]], np.float32)
    new_x, _ = step(x, s)
    with np.errstate(invalid="ignore"):
        grad = x.astype(np.float64) - new_x
    expected = np.where(x > 0, s, 0.0)
    assert not np.isnan(grad).any(), grad
    # lr = 1: x - inf = -inf, so the update is inf exactly where the adjoint is.
    assert np.isinf(grad[x > 0][s[x > 0] == np.inf]).all()
    np.testing.assert_array_equal(grad[x <= 0], 0.0)
    np.testing.assert_allclose(grad[(x > 0) & np.isfinite(s)], expected[(x > 0) & np.isfinite(s)])


DEAD_UNIT_MLP = """
func.func @f(%x: tensor<16x4xf32>, %w1: tensor<4x8xf32>, %w2: tensor<8x2xf32>) -> tensor<16x2xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16x8xf32>) -> tensor<16x8xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x4xf32>, tensor<4x8xf32>) outs(%f : tensor<16x8xf32>) -> tensor<16x8xf32>
  %zeros = arith.constant dense<0.0> : tensor<16x8xf32>
  %r = arith.maximumf %h, %zeros : tensor<16x8xf32>
  %e2 = tensor.empty() : tensor<16x2xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<16x2xf32>) -> tensor<16x2xf32>
  %y = linalg.matmul ins(%r, %w2 : tensor<16x8xf32>, tensor<8x2xf32>) outs(%f2 : tensor<16x2xf32>) -> tensor<16x2xf32>
  return %y : tensor<16x2xf32>
}"""


def test_dead_unit_with_a_large_weight_does_not_skip_f16_steps(tmp_path):
    """fp16 + dynamic loss scaling: a unit that never fires, with an outgoing
    weight large enough that its scaled adjoint overflows f16, must not turn
    into NaN through the ReLU backward; PyTorch's GradScaler skips no step
    here, and neither may ampc (the scale stays at 65536). This also needs the
    scaled seed (65536 > f16's largest value) to enter the f16 loss-gradient
    generic as f32."""
    path = tmp_path / "dead.mlir"
    path.write_text(DEAD_UNIT_MLP)
    module = ampc.load(ampc.compile(str(path), output=str(tmp_path / "dead.so"), precision="fp16",
                                    train={"loss": "mse", "params": "1,2", "lr": 1e-4}))
    rng = np.random.default_rng(7)
    x = 0.1 * np.abs(rng.standard_normal((16, 4))).astype(np.float32)
    w1 = (0.3 * rng.standard_normal((4, 8))).astype(np.float32)
    w1[:, 3] = -1.0                      # unit 3: x >= 0, so it never fires
    w2 = (0.3 * rng.standard_normal((8, 2))).astype(np.float32)
    w2[3, :] = 30000.0                   # its scaled adjoint overflows f16
    module.init_state([w1, w2])
    target = 0.01 * rng.standard_normal((16, 2)).astype(np.float32)
    for _ in range(14):
        loss = module.step(x, target)
        assert np.isfinite(loss)
    scale, _ = module.scaler_state()
    assert scale == 65536.0, "steps were skipped: the scale backed off to %g" % scale


def test_cross_entropy_over_one_row_of_scores(tmp_path):
    """A 1-D result is one row of class scores, as torch's cross_entropy takes a
    1-D input with a 0-d class number (this used to crash the pass)."""
    text = """
func.func @f(%w: tensor<5xf32>) -> tensor<5xf32> {
  %t = math.tanh %w : tensor<5xf32>
  return %t : tensor<5xf32>
}"""
    rng = np.random.default_rng(11)
    w = rng.standard_normal(5).astype(np.float32)
    for labels, label in (("one-hot", np.eye(5, dtype=np.float32)[2]), ("indices", np.array(2, np.int64))):
        stem = "row_" + labels
        (tmp_path / (stem + ".mlir")).write_text(text)
        step = ampc.load(ampc.compile(str(tmp_path / (stem + ".mlir")), output=str(tmp_path / (stem + ".so")),
                                      precision="fp32", hyperparameters=(),
                                      train="loss=cross-entropy labels=%s params=0 lr=1" % labels)).train_step
        new_w, loss = step(w, label)
        t = np.tanh(w.astype(np.float64))
        logp = t - t.max() - np.log(np.exp(t - t.max()).sum())
        assert float(loss) == pytest.approx(-logp[2], rel=1e-6)
        softmax = np.exp(logp)
        np.testing.assert_allclose(w - new_w, (softmax - np.eye(5)[2]) * (1 - t * t), rtol=1e-5, atol=1e-7)
