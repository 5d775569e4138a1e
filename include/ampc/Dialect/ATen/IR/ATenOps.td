//===- ATenOps.td - aten frontend operations ---------------*- tablegen -*-===//
//
// One op per ATen operator (or family of overloads) that ampc.torch imports.
// Shapes are static; each op's result type carries what ATen computes from
// sizes (view, expand, pooling outputs), and the verifiers check what the
// conversion to linalg relies on.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_ATEN_IR_ATENOPS_TD
#define AMPC_DIALECT_ATEN_IR_ATENOPS_TD

include "ampc/Dialect/ATen/IR/ATenDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def ATen_Tensor : RankedTensorOf<[AnyInteger, AnyFloat]>;
// ampc.torch imports float32 models; the lowerings build f32 constants.
def ATen_FloatTensor : RankedTensorOf<[F32]>;
def ATen_IndexTensor : RankedTensorOf<[I64, I32]>;
def ATen_BoolTensor : RankedTensorOf<[I1]>;
def ATen_RngState : 1DTensorOf<[I64]>;

// An i64 attribute read as a signed number (dims, indices, padding_idx).
def ATen_Int : TypedSignlessIntegerAttrBase<I64, "int64_t", "64-bit signless integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// x -> f(x) over floats, with the attributes in `extra`.
class ATen_UnaryOp<string mnemonic, string what, dag extra = (ins)>
    : ATen_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = what;
  let description = "`aten." # mnemonic # "`: " # what # ", elementwise, computed "
                    "in the element type as PyTorch's CPU kernel.";
  let arguments = !con((ins ATen_FloatTensor:$self), extra);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
}

def ATen_ReluOp : ATen_UnaryOp<"relu", "max(x, 0)">;
def ATen_SigmoidOp : ATen_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def ATen_TanhOp : ATen_UnaryOp<"tanh", "the hyperbolic tangent">;
def ATen_SiluOp : ATen_UnaryOp<"silu", "x * sigmoid(x)">;
def ATen_HardswishOp : ATen_UnaryOp<"hardswish", "x * relu6(x + 3) / 6">;
def ATen_HardsigmoidOp : ATen_UnaryOp<"hardsigmoid", "relu6(x + 3) / 6">;
def ATen_NegOp : ATen_UnaryOp<"neg", "-x">;
def ATen_ExpOp : ATen_UnaryOp<"exp", "e^x">;
def ATen_LogOp : ATen_UnaryOp<"log", "the natural logarithm">;
def ATen_SqrtOp : ATen_UnaryOp<"sqrt", "the square root">;
def ATen_RsqrtOp : ATen_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def ATen_AbsOp : ATen_UnaryOp<"abs", "|x|">;
def ATen_ErfOp : ATen_UnaryOp<"erf", "the error function">;
def ATen_ReciprocalOp : ATen_UnaryOp<"reciprocal", "1 / x">;
def ATen_SinOp : ATen_UnaryOp<"sin", "the sine">;
def ATen_CosOp : ATen_UnaryOp<"cos", "the cosine">;
def ATen_GeluOp : ATen_UnaryOp<"gelu", "x * Phi(x): `approximate` \"none\" (erf) or \"tanh\"",
    (ins DefaultValuedStrAttr<StrAttr, "none">:$approximate)> {
  let hasVerifier = 1;
}
def ATen_LeakyReluOp : ATen_UnaryOp<"leaky_relu", "x > 0 ? x : negative_slope * x",
    (ins F64Attr:$negative_slope)>;
def ATen_HardtanhOp : ATen_UnaryOp<"hardtanh", "min(max(x, min_val), max_val)",
    (ins F64Attr:$min_val, F64Attr:$max_val)>;
def ATen_ClampOp : ATen_Op<"clamp", [Pure, SameOperandsAndResultType]> {
  let summary = "x clamped to [min, max] (either may be absent), floats or integers";
  let arguments = (ins ATen_Tensor:$self, OptionalAttr<F64Attr>:$min, OptionalAttr<F64Attr>:$max);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
}
def ATen_EluOp : ATen_UnaryOp<"elu",
    "x > 0 ? scale * x : scale * alpha * (exp(x * input_scale) - 1)",
    (ins F64Attr:$alpha, F64Attr:$scale, F64Attr:$input_scale)>;
def ATen_SoftplusOp : ATen_UnaryOp<"softplus",
    "x * beta > threshold ? x : log(1 + exp(x * beta)) / beta",
    (ins F64Attr:$beta, F64Attr:$threshold)>;
def ATen_PowTensorScalarOp : ATen_UnaryOp<"pow.Tensor_Scalar", "x ^ exponent",
    (ins F64Attr:$exponent)>;

def ATen_LogicalNotOp : ATen_Op<"logical_not", [Pure, SameOperandsAndResultShape]> {
  let summary = "x == 0, as a bool tensor";
  let arguments = (ins ATen_Tensor:$self);
  let results = (outs ATen_BoolTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
}

def ATen_ToOp : ATen_Op<"to", [Pure, SameOperandsAndResultShape]> {
  let summary = "an element type conversion (Tensor.to(dtype), _to_copy)";
  let description = [{
    Converts every element to the result's element type with PyTorch's
    rules: floats round to nearest even, bools become 0/1, floats become
    integers by truncation, anything becomes a bool by comparing with zero.
  }];
  let arguments = (ins ATen_Tensor:$self);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
}

// (self, other) -> f(self, other) with numpy broadcasting; operands of other
// element types are converted to the computation type first (a 0-d tensor
// is how a Python number arrives).
class ATen_BinaryOp<string mnemonic, string what, dag extra = (ins)>
    : ATen_Op<mnemonic, [Pure]> {
  let summary = what;
  let description = "`aten." # mnemonic # "`: " # what # ", elementwise with numpy "
                    "broadcasting; operands convert to the result's element type first "
                    "(to the operands' common type for comparisons).";
  let arguments = !con((ins ATen_Tensor:$self, ATen_Tensor:$other), extra);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self `,` $other attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_AddOp : ATen_BinaryOp<"add", "self + alpha * other",
    (ins DefaultValuedAttr<F64Attr, "1.0">:$alpha)>;
def ATen_SubOp : ATen_BinaryOp<"sub", "self - alpha * other",
    (ins DefaultValuedAttr<F64Attr, "1.0">:$alpha)>;
def ATen_MulOp : ATen_BinaryOp<"mul", "self * other">;
def ATen_DivOp : ATen_BinaryOp<"div", "self / other (true division)">;
def ATen_MaximumOp : ATen_BinaryOp<"maximum", "max(self, other), NaN propagating">;
def ATen_MinimumOp : ATen_BinaryOp<"minimum", "min(self, other), NaN propagating">;
def ATen_PowTensorTensorOp : ATen_BinaryOp<"pow.Tensor_Tensor", "self ^ other">;
def ATen_EqOp : ATen_BinaryOp<"eq", "self == other">;
def ATen_NeOp : ATen_BinaryOp<"ne", "self != other">;
def ATen_LtOp : ATen_BinaryOp<"lt", "self < other">;
def ATen_LeOp : ATen_BinaryOp<"le", "self <= other">;
def ATen_GtOp : ATen_BinaryOp<"gt", "self > other">;
def ATen_GeOp : ATen_BinaryOp<"ge", "self >= other">;
def ATen_LogicalAndOp : ATen_BinaryOp<"logical_and", "self != 0 and other != 0">;
def ATen_LogicalOrOp : ATen_BinaryOp<"logical_or", "self != 0 or other != 0">;

def ATen_WhereOp : ATen_Op<"where", [Pure]> {
  let summary = "condition ? self : other, with broadcasting (where.self)";
  let arguments = (ins ATen_BoolTensor:$condition, ATen_Tensor:$self, ATen_Tensor:$other);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$condition `,` $self `,` $other attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_MaskedFillOp : ATen_Op<"masked_fill", [Pure]> {
  let summary = "self with `value` (a 0-d tensor) where mask is true";
  let arguments = (ins ATen_Tensor:$self, ATen_BoolTensor:$mask, ATen_Tensor:$value);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self `,` $mask `,` $value attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_DetachOp : ATen_Op<"detach", [Pure, SameOperandsAndResultType]> {
  let summary = "the same values, through which no gradient flows";
  let arguments = (ins ATen_Tensor:$self);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Matrix products, convolutions, embeddings
//===----------------------------------------------------------------------===//

def ATen_MmOp : ATen_Op<"mm", [Pure]> {
  let summary = "self @ mat2 for 2-D operands";
  let arguments = (ins ATen_FloatTensor:$self, ATen_FloatTensor:$mat2);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self `,` $mat2 attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_AddmmOp : ATen_Op<"addmm", [Pure]> {
  let summary = "beta * self + alpha * (mat1 @ mat2), self broadcast (nn.Linear)";
  let arguments = (ins ATen_FloatTensor:$self, ATen_FloatTensor:$mat1, ATen_FloatTensor:$mat2,
                       DefaultValuedAttr<F64Attr, "1.0">:$beta,
                       DefaultValuedAttr<F64Attr, "1.0">:$alpha);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self `,` $mat1 `,` $mat2 attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_BmmOp : ATen_Op<"bmm", [Pure]> {
  let summary = "batched self @ mat2 for 3-D operands";
  let arguments = (ins ATen_FloatTensor:$self, ATen_FloatTensor:$mat2);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self `,` $mat2 attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_BaddbmmOp : ATen_Op<"baddbmm", [Pure]> {
  let summary = "beta * self + alpha * (batch1 @ batch2), self broadcast (masked attention)";
  let arguments = (ins ATen_FloatTensor:$self, ATen_FloatTensor:$batch1, ATen_FloatTensor:$batch2,
                       DefaultValuedAttr<F64Attr, "1.0">:$beta,
                       DefaultValuedAttr<F64Attr, "1.0">:$alpha);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self `,` $batch1 `,` $batch2 attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_ConvolutionOp : ATen_Op<"convolution", [Pure]> {
  let summary = "1-D or 2-D convolution or transposed convolution (aten.convolution)";
  let description = [{
    `input` is (N, C, H, W) or (N, C, L); `weight` (F, C / groups, KH, KW)
    or, transposed, (C, F / groups, KH, KW); `bias` (F) when present.
    `stride`, `padding`, `dilation` and `output_padding` have one entry per
    spatial dimension.
  }];
  let arguments = (ins ATen_FloatTensor:$input, ATen_FloatTensor:$weight,
                       Optional<ATen_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation,
                       DefaultValuedAttr<BoolAttr, "false">:$transposed,
                       OptionalAttr<DenseI64ArrayAttr>:$output_padding,
                       DefaultValuedAttr<ATen_Int, "1">:$groups);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_EmbeddingOp : ATen_Op<"embedding", [Pure]> {
  let summary = "rows of `weight` picked by `indices` (nn.Embedding)";
  let description = [{
    result[..., d] = weight[indices[...], d]. With `padding_idx` (>= 0),
    the row `padding_idx` receives no gradient, as in PyTorch; its forward
    value is read as any other row.
  }];
  let arguments = (ins ATen_FloatTensor:$weight, ATen_IndexTensor:$indices,
                       DefaultValuedAttr<ATen_Int, "-1">:$padding_idx);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$weight `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

def ATen_NativeBatchNormOp : ATen_Op<"native_batch_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "batch normalization, in its functional form";
  let description = [{
    Normalizes `input` (N, C, ...) per channel. In training mode with the
    batch statistics (biased variance), returning them as `save_mean` and
    `save_invstd`, and the updated running statistics (`momentum` * batch +
    (1 - `momentum`) * running, the variance unbiased) as `running_mean_out`
    and `running_var_out`: the functional form of ATen's in-place update.
    In eval mode the running statistics normalize, come back unchanged, and
    `save_*` are empty, as in ATen; without running statistics their
    results are empty too.
  }];
  let arguments = (ins ATen_FloatTensor:$input, Optional<ATen_FloatTensor>:$weight,
                       Optional<ATen_FloatTensor>:$bias, Optional<ATen_FloatTensor>:$running_mean,
                       Optional<ATen_FloatTensor>:$running_var, BoolAttr:$training,
                       F64Attr:$momentum, F64Attr:$eps);
  let results = (outs ATen_FloatTensor:$output, ATen_FloatTensor:$save_mean,
                      ATen_FloatTensor:$save_invstd, ATen_FloatTensor:$running_mean_out,
                      ATen_FloatTensor:$running_var_out);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `)`)? (`bias` `(` $bias^ `)`)?
    (`running` `(` $running_mean^ `,` $running_var `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def ATen_NativeLayerNormOp : ATen_Op<"native_layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "layer normalization over the trailing `normalized_shape` dimensions";
  let description = [{
    Returns the normalized output (times `weight`, plus `bias`, when present)
    and the per-row mean and 1 / sqrt(var + eps) (biased variance), shaped
    like the input with the normalized dimensions as 1, as ATen does.
  }];
  let arguments = (ins ATen_FloatTensor:$input, Optional<ATen_FloatTensor>:$weight,
                       Optional<ATen_FloatTensor>:$bias, DenseI64ArrayAttr:$normalized_shape,
                       F64Attr:$eps);
  let results = (outs ATen_FloatTensor:$output, ATen_FloatTensor:$mean, ATen_FloatTensor:$rstd);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def ATen_NativeGroupNormOp : ATen_Op<"native_group_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "group normalization: channels in `group` groups, statistics per (sample, group)";
  let description = [{
    `input` is (N, C, ...); returns the output (per-channel `weight` and
    `bias` when present) and the (N, group) mean and 1 / sqrt(var + eps).
  }];
  let arguments = (ins ATen_FloatTensor:$input, Optional<ATen_FloatTensor>:$weight,
                       Optional<ATen_FloatTensor>:$bias, ATen_Int:$group, F64Attr:$eps);
  let results = (outs ATen_FloatTensor:$output, ATen_FloatTensor:$mean, ATen_FloatTensor:$rstd);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class ATen_SoftmaxOp<string mnemonic, string what> : ATen_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = what;
  let description = "`aten." # mnemonic # "`: " # what # " over `dim`, shifted by the "
                    "maximum as PyTorch computes it.";
  let arguments = (ins ATen_FloatTensor:$self, ATen_Int:$dim);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
  let hasVerifier = 1;
}
def ATen_SoftmaxOp : ATen_SoftmaxOp<"_softmax", "softmax">;
def ATen_LogSoftmaxOp : ATen_SoftmaxOp<"_log_softmax", "log-softmax">;

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class ATen_ReductionOp<string mnemonic, string what, dag extra = (ins),
                       Type element = ATen_FloatTensor> : ATen_Op<mnemonic, [Pure]> {
  let summary = what;
  let description = "`aten." # mnemonic # "`: " # what # " over the dimensions in `dim` "
                    "(every dimension when empty), keeping them as size 1 with `keepdim`.";
  let arguments = !con((ins element:$self, DenseI64ArrayAttr:$dim,
                            DefaultValuedAttr<BoolAttr, "false">:$keepdim), extra);
  let results = (outs element:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}
def ATen_SumOp : ATen_ReductionOp<"sum", "the sum (of bools and integers too, in the result's type)",
                                  (ins), ATen_Tensor>;
def ATen_MeanOp : ATen_ReductionOp<"mean", "the mean">;
def ATen_AmaxOp : ATen_ReductionOp<"amax", "the maximum">;
def ATen_AminOp : ATen_ReductionOp<"amin", "the minimum">;
def ATen_VarOp : ATen_ReductionOp<"var", "the variance with `correction` (1: unbiased)",
    (ins DefaultValuedAttr<F64Attr, "1.0">:$correction)>;

//===----------------------------------------------------------------------===//
// Pooling and resampling
//===----------------------------------------------------------------------===//

def ATen_MaxPool2dOp : ATen_Op<"max_pool2d", [Pure]> {
  let summary = "2-D max pooling (the values of max_pool2d_with_indices)";
  let description = [{
    Windows of `kernel_size` every `stride`, over the input padded by
    `padding` with -inf; `ceil_mode` adds a last window that starts inside
    the input or its left padding, as PyTorch's output size rule says.
  }];
  let arguments = (ins ATen_FloatTensor:$self, DenseI64ArrayAttr:$kernel_size,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_AvgPool2dOp : ATen_Op<"avg_pool2d", [Pure]> {
  let summary = "2-D average pooling";
  let description = [{
    As PyTorch: a window's divisor is `divisor_override` when given, else
    its size clipped to the padded input (`count_include_pad`) or to the
    input itself.
  }];
  let arguments = (ins ATen_FloatTensor:$self, DenseI64ArrayAttr:$kernel_size,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "true">:$count_include_pad,
                       OptionalAttr<ATen_Int>:$divisor_override);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_AdaptiveAvgPool2dOp : ATen_Op<"_adaptive_avg_pool2d", [Pure]> {
  let summary = "2-D adaptive average pooling to the result's spatial size";
  let description = [{
    Output cell (i, j) averages input rows [floor(i H / OH), ceil((i + 1) H / OH))
    and the columns likewise, as PyTorch's windows.
  }];
  let arguments = (ins ATen_FloatTensor:$self);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_UpsampleNearest2dOp : ATen_Op<"upsample_nearest2d", [Pure]> {
  let summary = "nearest-neighbour resize to the result's spatial size (F.interpolate)";
  let description = [{
    Output row i reads input row min(floor(i * scale), H - 1), with scale
    1 / `scales_h` when given, else H / OH (PyTorch's rule); columns alike.
  }];
  let arguments = (ins ATen_FloatTensor:$self, OptionalAttr<F64Attr>:$scales_h,
                       OptionalAttr<F64Attr>:$scales_w);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_UpsampleBilinear2dOp : ATen_Op<"upsample_bilinear2d", [Pure]> {
  let summary = "bilinear resize to the result's spatial size (F.interpolate)";
  let description = [{
    PyTorch's source coordinates: with `align_corners`, i * (H - 1) / (OH - 1);
    otherwise (i + 0.5) * scale - 0.5 clamped at 0, with scale 1 / `scales_h`
    when given, else H / OH. The two nearest rows and columns mix by distance.
  }];
  let arguments = (ins ATen_FloatTensor:$self, BoolAttr:$align_corners,
                       OptionalAttr<F64Attr>:$scales_h, OptionalAttr<F64Attr>:$scales_w);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

def ATen_ViewOp : ATen_Op<"view", [Pure]> {
  let summary = "the same elements in row-major order, in the result's shape";
  let description = [{
    Every reshape ATen has (view, reshape, _unsafe_view, flatten, squeeze,
    unsqueeze) arrives as this op: the result type holds the new shape.
  }];
  let arguments = (ins ATen_Tensor:$self);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_PermuteOp : ATen_Op<"permute", [Pure]> {
  let summary = "dimensions reordered: result dim i is self dim dims[i] (permute, transpose, t)";
  let arguments = (ins ATen_Tensor:$self, DenseI64ArrayAttr:$dims);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_ExpandOp : ATen_Op<"expand", [Pure]> {
  let summary = "self broadcast to the result's shape (expand, broadcast_to)";
  let arguments = (ins ATen_Tensor:$self);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_SliceOp : ATen_Op<"slice", [Pure]> {
  let summary = "elements start, start + step, ... below end along `dim` (slice.Tensor)";
  let description = "`start` and `end` are already clamped to [0, size], `step` > 0.";
  let arguments = (ins ATen_Tensor:$self, ATen_Int:$dim, ATen_Int:$start, ATen_Int:$end,
                       DefaultValuedAttr<ATen_Int, "1">:$step);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_SelectOp : ATen_Op<"select", [Pure]> {
  let summary = "the slice at `index` along `dim`, which the result drops (select.int)";
  let arguments = (ins ATen_Tensor:$self, ATen_Int:$dim, ATen_Int:$index);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_SliceScatterOp : ATen_Op<"slice_scatter", [Pure]> {
  let summary = "self with `src` written over slice(dim, start, end, step)";
  let arguments = (ins ATen_Tensor:$self, ATen_Tensor:$src, ATen_Int:$dim, ATen_Int:$start,
                       ATen_Int:$end, DefaultValuedAttr<ATen_Int, "1">:$step);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self `,` $src attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_SelectScatterOp : ATen_Op<"select_scatter", [Pure]> {
  let summary = "self with `src` written over select(dim, index)";
  let arguments = (ins ATen_Tensor:$self, ATen_Tensor:$src, ATen_Int:$dim, ATen_Int:$index);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self `,` $src attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_CatOp : ATen_Op<"cat", [Pure]> {
  let summary = "tensors joined along `dim` (converted to the result's element type)";
  let arguments = (ins Variadic<ATen_Tensor>:$tensors, ATen_Int:$dim);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$tensors attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_StackOp : ATen_Op<"stack", [Pure]> {
  let summary = "tensors of one shape joined along a new dimension `dim` (converted to the result's element type)";
  let arguments = (ins Variadic<ATen_Tensor>:$tensors, ATen_Int:$dim);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$tensors attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def ATen_SplitOp : ATen_Op<"split", [Pure]> {
  let summary = "consecutive pieces along `dim`, sized as the results (split, split_with_sizes, chunk)";
  let arguments = (ins ATen_Tensor:$self, ATen_Int:$dim);
  let results = (outs Variadic<ATen_Tensor>:$results);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($results)";
  let hasVerifier = 1;
}

def ATen_UnbindOp : ATen_Op<"unbind", [Pure]> {
  let summary = "the slices along `dim`, which the results drop";
  let arguments = (ins ATen_Tensor:$self, ATen_Int:$dim);
  let results = (outs Variadic<ATen_Tensor>:$results);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($results)";
  let hasVerifier = 1;
}

def ATen_ConstantPadNdOp : ATen_Op<"constant_pad_nd", [Pure]> {
  let summary = "self padded with `value` (F.pad constant mode)";
  let description = [{
    `pad` lists (before, after) pairs from the last dimension backwards, as
    PyTorch's F.pad; negative entries crop.
  }];
  let arguments = (ins ATen_Tensor:$self, DenseI64ArrayAttr:$pad, F64Attr:$value);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($self) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_RollOp : ATen_Op<"roll", [Pure, SameOperandsAndResultType]> {
  let summary = "elements shifted by `shifts` along `dims`, wrapping around";
  let arguments = (ins ATen_Tensor:$self, DenseI64ArrayAttr:$shifts, DenseI64ArrayAttr:$dims);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def ATen_FlipOp : ATen_Op<"flip", [Pure, SameOperandsAndResultType]> {
  let summary = "the order of elements reversed along `dims`";
  let arguments = (ins ATen_Tensor:$self, DenseI64ArrayAttr:$dims);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def ATen_IndexOp : ATen_Op<"index", [Pure]> {
  let summary = "advanced indexing with integer index tensors (index.Tensor)";
  let description = [{
    `indices` index the dimensions listed in `indexed_dims` (ascending; the
    others are taken whole, PyTorch's `None`). The index tensors broadcast
    together; the result holds their broadcast shape where the indexed
    dimensions were when those are adjacent, else first, then the other
    dimensions, as numpy and PyTorch place them. Negative indices count
    from the end.
  }];
  let arguments = (ins ATen_Tensor:$self, Variadic<ATen_IndexTensor>:$indices,
                       DenseI64ArrayAttr:$indexed_dims);
  let results = (outs ATen_Tensor:$result);
  let assemblyFormat = "$self `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Randomness
//===----------------------------------------------------------------------===//

def ATen_BernoulliOp : ATen_Op<"bernoulli", [Pure]> {
  let summary = "1.0 with probability `p`, else 0.0, per element (bernoulli_.float)";
  let description = [{
    Draws from the step's random-number state `rng` (seed, offset: see
    `amp.random_uniform`), in its own stream `stream`, so that every random
    op of a step draws independent numbers and the same numbers for the same
    state. Dropout is `x * bernoulli(1 - p) / (1 - p)`.
  }];
  let arguments = (ins ATen_RngState:$rng, F64Attr:$p, ATen_Int:$stream);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$rng attr-dict `:` type($rng) `->` type($result)";
  let hasVerifier = 1;
}

def ATen_RandOp : ATen_Op<"rand", [Pure]> {
  let summary = "uniform samples in [0, 1) from the step's random-number state (rand, rand_like)";
  let arguments = (ins ATen_RngState:$rng, ATen_Int:$stream);
  let results = (outs ATen_FloatTensor:$result);
  let assemblyFormat = "$rng attr-dict `:` type($rng) `->` type($result)";
  let hasVerifier = 1;
}

#endif // AMPC_DIALECT_ATEN_IR_ATENOPS_TD
