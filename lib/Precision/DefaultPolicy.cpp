//===- DefaultPolicy.cpp - built-in op lists --------------------------------===//
//
// The defaults follow PyTorch's CUDA autocast lists (lower_precision_fp / fp32)
// and TensorFlow's AutoMixedPrecision lists, mapped to upstream MLIR ops. Where
// the two disagree (tanh, sqrt: infer in TF, f32-sensitive in practice) the
// safer choice is taken. docs/autocast.md lists these entries.
//
//===----------------------------------------------------------------------===//

#include "ampc/Precision/PrecisionPolicy.h"

using namespace ampc;

namespace {
struct DefaultList {
  OpClass opClass;
  std::initializer_list<const char *> patterns;
};
} // namespace

static const DefaultList kDefaults[] = {
    {OpClass::Allow,
     {// Matrix products, including transposed forms (indexing_maps on
      // linalg.matmul / batch_matmul) and packed layouts.
      "linalg.matmul", "linalg.batch_matmul", "linalg.batch_reduce_matmul",
      "linalg.matvec", "linalg.vecmat", "linalg.batch_matvec",
      "linalg.batch_vecmat", "linalg.dot", "linalg.contract", "linalg.mmt4d",
      "linalg.batch_mmt4d",
      // Convolutions, every layout, and depthwise convolutions.
      "linalg.conv_*", "linalg.depthwise_conv_*"}},
    {OpClass::Deny,
     {// Transcendentals and powers: large dynamic range or error growth.
      "math.exp", "math.exp2", "math.expm1", "math.log", "math.log10",
      "math.log1p", "math.log2", "math.powf", "math.fpowi", "math.ipowi",
      "math.erf", "math.erfc", "math.tanh", "math.sqrt", "math.rsqrt",
      "math.cbrt", "math.sin", "math.cos", "math.tan", "math.sinh",
      "math.cosh", "math.asin", "math.acos", "math.atan", "math.atan2",
      "math.asinh", "math.acosh", "math.atanh",
      // The same as named linalg ops, and softmax.
      "linalg.exp", "linalg.log", "linalg.sqrt", "linalg.rsqrt", "linalg.tanh",
      "linalg.erf", "linalg.powf", "linalg.reciprocal", "linalg.softmax"}},
    {OpClass::Infer,
     {// Elementwise arithmetic: cheap, follows its inputs.
      "arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.negf",
      "arith.remf", "arith.maximumf", "arith.minimumf", "arith.maxnumf",
      "arith.minnumf", "arith.select", "arith.cmpf", "math.absf", "math.fma",
      "math.copysign", "math.ceil", "math.floor", "math.round",
      "math.roundeven", "math.trunc", "linalg.add", "linalg.sub", "linalg.mul",
      "linalg.div", "linalg.max", "linalg.min", "linalg.negf", "linalg.abs",
      "linalg.square", "linalg.select", "linalg.ceil", "linalg.floor",
      "linalg.round",
      // Sum pooling accumulates (in the accumulate type), like TF's AvgPool.
      "linalg.pooling_*_sum"}},
    {OpClass::Clear,
     {// Data movement: exact in any precision.
      "linalg.transpose", "linalg.broadcast", "linalg.fill", "linalg.copy",
      "linalg.index", "linalg.pooling_*_max", "linalg.pooling_*_min",
      "tensor.empty", "tensor.cast", "tensor.expand_shape",
      "tensor.collapse_shape", "tensor.reshape", "tensor.extract_slice",
      "tensor.insert_slice", "tensor.pad", "tensor.concat", "tensor.extract",
      "tensor.insert", "tensor.from_elements", "tensor.splat",
      "tensor.gather", "tensor.scatter", "arith.constant", "arith.extf",
      "arith.truncf", "arith.index_cast", "arith.sitofp", "arith.uitofp"}},
};

PrecisionPolicy PrecisionPolicy::getDefault() {
  PrecisionPolicy policy;
  for (const DefaultList &list : kDefaults)
    for (const char *pattern : list.patterns) {
      [[maybe_unused]] bool ok = policy.add(list.opClass, pattern);
      assert(ok && "malformed built-in policy pattern");
    }
  return policy;
}
