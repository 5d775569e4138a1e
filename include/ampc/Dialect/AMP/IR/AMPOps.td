//===- AMPOps.td - amp dialect operations ------------------*- tablegen -*-===//

#ifndef AMPC_DIALECT_AMP_IR_AMPOPS_TD
#define AMPC_DIALECT_AMP_IR_AMPOPS_TD

include "ampc/Dialect/AMP/IR/AMPDialect.td"
include "ampc/Dialect/AMP/IR/AMPAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/CastInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// Element types an amp.cast converts between. fp8 joins when the fp8 policy does.
def AMP_CastElementType : AnyTypeOf<[F32, F16, BF16]>;
def AMP_CastOperand : AnyTypeOf<[
    AMP_CastElementType,
    RankedTensorOf<[F32, F16, BF16]>
  ], "f32, f16 or bf16 scalar or ranked tensor">;

def AMP_CastOp : AMP_Op<"cast", [
    Pure, SameOperandsAndResultShape,
    DeclareOpInterfaceMethods<CastOpInterface>]> {
  let summary = "compiler-inserted precision cast";
  let description = [{
    Converts a floating-point scalar or ranked tensor between f32, f16 and
    bf16, element by element. Narrowing rounds to nearest even (overflow gives
    infinity, as `arith.truncf`); widening is exact. Only ampc's passes insert
    this op: user casts stay `arith.truncf`/`arith.extf`, which no amp pass
    folds or moves.

    ```mlir
    %h = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf16>
    ```

    Folding: a cast of a constant becomes a constant of the new type; a cast
    back through an exact widening (`f16 -> f32 -> f16`) folds to the
    original value. Canonicalization composes a cast that follows an exact
    widening (`cast(cast(x : bf16 -> f32) : f32 -> f16)` becomes
    `cast(x : bf16 -> f16)`) and retypes a cast `tensor.empty`.
    A cast to the same type is invalid: the passes never need one.
  }];
  let arguments = (ins AMP_CastOperand:$input);
  let results = (outs AMP_CastOperand:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// True when converting `from` to `to` loses no information
    /// (f16 -> f32, bf16 -> f32).
    static bool isExactConversion(::mlir::Type from, ::mlir::Type to);
  }];
}

//===----------------------------------------------------------------------===//
// Training vocabulary: the gradient seed and optimizers
//===----------------------------------------------------------------------===//

def AMP_F32Tensor : RankedTensorOf<[F32]>;
def AMP_Loss : AnyTypeOf<[F32, 0DTensorOf<[F32]>]>;
def AMP_StepCounter : 0DTensorOf<[I64]>;

def AMP_GradSeedOp : AMP_Op<"grad_seed", [Pure, AllTypesMatch<["loss", "seed"]>]> {
  let summary = "the gradient seed dLoss/dLoss where the backward pass starts";
  let description = [{
    Yields 1.0 of the loss's type: the derivative of the loss with respect to
    itself, from which the reverse-mode backward pass of a training step
    starts. The loss operand ties the seed to the value it differentiates.
    This is the one place loss scaling multiplies by the scale.

    ```mlir
    %seed = amp.grad_seed %loss : tensor<f32>
    ```
  }];
  let arguments = (ins AMP_Loss:$loss);
  let results = (outs AMP_Loss:$seed);
  let assemblyFormat = "$loss attr-dict `:` type($loss)";
}

// A run-time hyperparameter (amp-hyperparameters): f64, as PyTorch's Python
// floats.
def AMP_Hyperparameter : 0DTensorOf<[F64]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF64Type())">;

def AMP_SGDOp : AMP_Op<"sgd", [Pure, AttrSizedOperandSegments]> {
  let summary = "stochastic gradient descent update (torch.optim.SGD)";
  let description = [{
    Returns the updated parameter and, when `momentum` is non-zero, the
    updated momentum buffer and step counter (the optimizer state, passed in
    `state(%buffer, %step)`). With `g = grad + weight_decay * param`:

    ```
    buffer' = step == 0 ? g : momentum * buffer + (1 - dampening) * g
    g'      = nesterov ? g + momentum * buffer' : buffer'      (g' = g without momentum)
    param'  = param - lr * g'
    step'   = step + 1
    ```

    exactly as `torch.optim.SGD` (whose momentum buffer is created from the
    first gradient). All arithmetic is f32.

    `lr`, `momentum` and `weight_decay` can be run-time values instead
    (`lr(%lr)`: a `tensor<f64>` operand, which amp-hyperparameters makes a
    step input); the attribute then holds the value the step was built with,
    which is the input's initial value. Whether there is a momentum buffer is
    decided by the attribute.

    ```mlir
    %p1 = amp.sgd %p, %g {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    %p2, %b2, %s2 = amp.sgd %p, %g state(%b, %s : tensor<4xf32>, tensor<i64>)
        {lr = 1.0e-01 : f64, momentum = 9.0e-01 : f64}
        : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
    ```
  }];
  let arguments = (ins AMP_F32Tensor:$param, AMP_F32Tensor:$grad,
                       Variadic<AnyRankedTensor>:$state,
                       Optional<AMP_Hyperparameter>:$lr_input,
                       Optional<AMP_Hyperparameter>:$momentum_input,
                       Optional<AMP_Hyperparameter>:$weight_decay_input,
                       F64Attr:$lr,
                       DefaultValuedAttr<F64Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$dampening,
                       DefaultValuedAttr<BoolAttr, "false">:$nesterov,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs AMP_F32Tensor:$new_param, Variadic<AnyRankedTensor>:$new_state);
  let assemblyFormat = [{
    $param `,` $grad (`state` `(` $state^ `:` type($state) `)`)?
    (`lr` `(` $lr_input^ `)`)? (`momentum` `(` $momentum_input^ `)`)?
    (`weight_decay` `(` $weight_decay_input^ `)`)? attr-dict
    `:` type($param) `,` type($grad) `->` type(results)
  }];
  let hasVerifier = 1;
}

class AMP_AdamBase<string mnemonic, string torchName, string decay,
                   string defaultDecay>
    : AMP_Op<mnemonic, [Pure, AttrSizedOperandSegments,
        AllTypesMatch<["param", "grad", "exp_avg", "exp_avg_sq",
                       "new_param", "new_exp_avg", "new_exp_avg_sq"]>,
        AllTypesMatch<["step", "new_step"]>]> {
  let summary = "Adam update (" # torchName # ")";
  let description = [{
    One step of `}] # torchName # [{` (amsgrad off), with the optimizer state
    (first and second moments, step counter) passed and returned explicitly:

    ```
    step'   = step + 1
    }] # decay # [{
    m'      = lerp(m, g, 1 - beta1)
    v'      = beta2 * v + (1 - beta2) * g * g
    param'  = param - (lr / (1 - beta1^step')) * m' / (sqrt(v') / sqrt(1 - beta2^step') + eps)
    ```

    Bias corrections are computed in f64 from the step counter, as PyTorch
    does with Python floats; everything elementwise is f32.

    `lr`, `beta1`, `beta2`, `eps` and `weight_decay` can be run-time values
    (`lr(%lr)`: a `tensor<f64>` operand, made a step input by
    amp-hyperparameters); the attribute then holds the initial value.

    ```mlir
    %p1, %m1, %v1, %s1 = amp.}] # mnemonic # [{ %p, %g, %m, %v, %s
        {lr = 1.0e-03 : f64} : tensor<4xf32>, tensor<i64>
    ```
  }];
  let arguments = (ins AMP_F32Tensor:$param, AMP_F32Tensor:$grad,
                       AMP_F32Tensor:$exp_avg, AMP_F32Tensor:$exp_avg_sq,
                       AMP_StepCounter:$step,
                       Optional<AMP_Hyperparameter>:$lr_input,
                       Optional<AMP_Hyperparameter>:$beta1_input,
                       Optional<AMP_Hyperparameter>:$beta2_input,
                       Optional<AMP_Hyperparameter>:$eps_input,
                       Optional<AMP_Hyperparameter>:$weight_decay_input,
                       F64Attr:$lr,
                       DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F64Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F64Attr, "1.0e-8">:$eps,
                       DefaultValuedAttr<F64Attr, defaultDecay>:$weight_decay);
  let results = (outs AMP_F32Tensor:$new_param, AMP_F32Tensor:$new_exp_avg,
                      AMP_F32Tensor:$new_exp_avg_sq, AMP_StepCounter:$new_step);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `,` $step
    (`lr` `(` $lr_input^ `)`)? (`beta1` `(` $beta1_input^ `)`)?
    (`beta2` `(` $beta2_input^ `)`)? (`eps` `(` $eps_input^ `)`)?
    (`weight_decay` `(` $weight_decay_input^ `)`)? attr-dict
    `:` type($param) `,` type($step)
  }];
  let hasVerifier = 1;
}

def AMP_AdamOp : AMP_AdamBase<"adam", "torch.optim.Adam",
    "g = weight_decay != 0 ? grad + weight_decay * param : grad   (L2 penalty)",
    "0.0">;
def AMP_AdamWOp : AMP_AdamBase<"adamw", "torch.optim.AdamW",
    "param = param * (1 - lr * weight_decay);  g = grad         (decoupled decay)",
    "0.01">;

//===----------------------------------------------------------------------===//
// Gradient clipping
//===----------------------------------------------------------------------===//

def AMP_ClipGradNormOp : AMP_Op<"clip_grad_norm", [Pure]> {
  let summary = "clip gradients by their global norm (torch.nn.utils.clip_grad_norm_)";
  let description = [{
    The global `norm_type` norm of all `grads` (2, 1 or inf), computed in f32
    as PyTorch does (the norm of the per-gradient norms), and every gradient
    multiplied by `min(max_norm / (total_norm + 1e-6), 1)`; the last result
    is `total_norm`. A non-finite norm gives a coefficient of 0 or NaN, as in
    PyTorch; under loss scaling the step is skipped then.

    ```mlir
    %c:3 = amp.clip_grad_norm %g0, %g1 {max_norm = 1.0 : f64}
        : tensor<64x128xf32>, tensor<128xf32> -> tensor<64x128xf32>, tensor<128xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<AMP_F32Tensor>:$grads, F64Attr:$max_norm,
                       DefaultValuedAttr<F64Attr, "2.0">:$norm_type);
  let results = (outs Variadic<AMP_F32Tensor>:$clipped, 0DTensorOf<[F32]>:$total_norm);
  let assemblyFormat = [{
    $grads attr-dict `:` type($grads) `->` type(results)
  }];
  let hasVerifier = 1;
}

def AMP_ClipGradValueOp : AMP_Op<"clip_grad_value", [Pure,
    AllTypesMatch<["grad", "result"]>]> {
  let summary = "clamp a gradient to [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_)";
  let description = [{
    ```mlir
    %c = amp.clip_grad_value %g {clip_value = 0.5 : f64} : tensor<64x128xf32>
    ```
  }];
  let arguments = (ins AMP_F32Tensor:$grad, F64Attr:$clip_value);
  let results = (outs AMP_F32Tensor:$result);
  let assemblyFormat = [{ $grad attr-dict `:` type($grad) }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Loss scaling
//===----------------------------------------------------------------------===//

def AMP_Scale : 0DTensorOf<[F32]> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getF32Type())";
}
def AMP_GrowthTracker : 0DTensorOf<[I32]>;
def AMP_Flag : 0DTensorOf<[I1]> {
  let builderCall = "::mlir::RankedTensorType::get({}, $_builder.getI1Type())";
}

def AMP_UnscaleOp : AMP_Op<"unscale", [Pure, AllTypesMatch<["grad", "result"]>]> {
  let summary = "divide a gradient by the loss scale";
  let description = [{
    Multiplies every element of `grad` by the inverse of `scale`. As in
    PyTorch's GradScaler, the inverse is computed in f64 and rounded to f32
    once (`scale.double().reciprocal().float()`).

    ```mlir
    %g = amp.unscale %scaled_grad, %scale : tensor<64x128xf32>
    ```
  }];
  let arguments = (ins AMP_F32Tensor:$grad, AMP_Scale:$scale);
  let results = (outs AMP_F32Tensor:$result);
  let assemblyFormat = "$grad `,` $scale attr-dict `:` type($grad)";
}

def AMP_AllFiniteOp : AMP_Op<"all_finite", [Pure]> {
  let summary = "whether every element of every operand is finite";
  let description = [{
    One reduction over all the gradients of a step: true when no element is
    an infinity or a NaN. Its result drives the skip of a step (a select in
    the graph, no host synchronization) and the scale update.

    ```mlir
    %ok = amp.all_finite %g1, %g2 : tensor<64x128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins Variadic<AMP_F32Tensor>:$inputs);
  let results = (outs AMP_Flag:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs)";
  let hasVerifier = 1;
}

def AMP_UpdateScaleOp : AMP_Op<"update_scale", [Pure,
    AllTypesMatch<["scale", "new_scale"]>,
    AllTypesMatch<["growth_tracker", "new_growth_tracker"]>]> {
  let summary = "dynamic loss-scale update (GradScaler semantics)";
  let description = [{
    The update `torch.amp.GradScaler.update` performs
    (`_amp_update_scale_`), then an optional clamp:

    ```
    if !all_finite:  scale' = scale * backoff_factor;  tracker' = 0
    else:            tracker' = tracker + 1
                     if tracker' == growth_interval:
                       g = scale * growth_factor;  if g is finite: scale' = g
                       tracker' = 0
    scale' = clamp(scale', min_scale, max_scale)
    ```

    ```mlir
    %s1, %t1 = amp.update_scale %s, %t, %ok {growth_interval = 2000 : i64}
        : tensor<f32>, tensor<i32>
    ```
  }];
  let arguments = (ins AMP_Scale:$scale, AMP_GrowthTracker:$growth_tracker,
                       AMP_Flag:$all_finite,
                       DefaultValuedAttr<F64Attr, "2.0">:$growth_factor,
                       DefaultValuedAttr<F64Attr, "0.5">:$backoff_factor,
                       DefaultValuedAttr<I64Attr, "2000">:$growth_interval,
                       DefaultValuedAttr<F64Attr, "0.0">:$min_scale,
                       DefaultValuedAttr<F64Attr, "0x7FF0000000000000">:$max_scale);
  let results = (outs AMP_Scale:$new_scale, AMP_GrowthTracker:$new_growth_tracker);
  let assemblyFormat = [{
    $scale `,` $growth_tracker `,` $all_finite attr-dict `:` type($scale) `,` type($growth_tracker)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data parallelism
//===----------------------------------------------------------------------===//

def AMP_ReduceKind : I32EnumAttr<"ReduceKind", "reduction of amp.all_reduce", [
    I32EnumAttrCase<"sum", 0>,
    I32EnumAttrCase<"max", 1>,
    I32EnumAttrCase<"min", 2>
  ]> {
  let cppNamespace = "::ampc::amp";
}

def AMP_AllReduceOp : AMP_Op<"all_reduce", [
    MemoryEffects<[MemRead, MemWrite]>, AllTypesMatch<["inputs", "results"]>]> {
  let summary = "element-wise reduction of tensors across all ranks (one bucket)";
  let description = [{
    Every rank of the process group (MPI_COMM_WORLD) passes tensors of the
    same types; every rank receives, element by element, the sum (maximum,
    minimum) over ranks. The operands travel as one flat buffer: one
    `MPI_Allreduce` per op, so an op is one gradient bucket.

    ```mlir
    %g:2 = amp.all_reduce sum %g1, %g2 : tensor<64x128xf32>, tensor<128xf32>
    ```

    A collective: every rank must run it the same number of times in the
    same order, so it is never folded, deduplicated, moved or erased (it is
    not `Pure`). Element types: f32 and i32 (what the MPI dialect maps;
    a bf16 gradient is reduced in f32). The CPU lowering packs the operands
    into one buffer and calls `MPI_Allreduce` in place on it through the
    upstream `mpi` dialect.
  }];
  let arguments = (ins AMP_ReduceKind:$kind,
                       Variadic<RankedTensorOf<[F32, I32]>>:$inputs);
  let results = (outs Variadic<RankedTensorOf<[F32, I32]>>:$results);
  let assemblyFormat = "$kind $inputs attr-dict `:` type($inputs)";
  let hasVerifier = 1;
}

def AMP_AllReduceInPlaceOp : AMP_Op<"all_reduce_in_place"> {
  let summary = "amp.all_reduce on one flat buffer, in place (after bufferization)";
  let description = [{
    The buffer form of an `amp.all_reduce` bucket: every rank's `buffer`
    is replaced by the element-wise reduction over ranks. The CPU lowering
    packs a bucket into a fresh 1-D buffer and reduces it with this op,
    which declares that it reads and writes the buffer, so bufferization
    and buffer deallocation handle it like any other op; after them
    `amp-cpu-collectives-to-mpi` turns it into the upstream
    `mpi.allreduce` with MPI_IN_PLACE.

    ```mlir
    amp.all_reduce_in_place sum %bucket : memref<1152xf32>
    ```
  }];
  let arguments = (ins AMP_ReduceKind:$kind,
                       Arg<MemRefRankOf<[F32, I32], [1]>, "the bucket",
                           [MemRead, MemWrite]>:$buffer);
  let assemblyFormat = "$kind $buffer attr-dict `:` type($buffer)";
}

def AMP_WorldSizeOp : AMP_Op<"world_size", [Pure]> {
  let summary = "the number of ranks of the process group, as f32";
  let description = [{
    The size of MPI_COMM_WORLD, read from the runtime (the upstream
    `mpi.comm_size` has no lowering in MLIR 22), as an f32 scalar tensor:
    the divisor that turns all-reduced gradient sums into means.

    ```mlir
    %n = amp.world_size : tensor<f32>
    ```
  }];
  let results = (outs AMP_Scale:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Frontend support: random numbers and gradient stops
//===----------------------------------------------------------------------===//

def AMP_RandomUniformOp : AMP_Op<"random_uniform", [Pure]> {
  let summary = "uniform [0, 1) samples from a counter-based generator (Philox4x32-10)";
  let description = [{
    Fills the result with uniform samples in [0, 1) derived from the random
    state `rng` = (seed, offset), a `tensor<2xi64>` the training step holds
    as state and advances once per step. Element `e` (row-major) is the first
    32-bit word of Philox4x32-10 (Salmon et al., SC'11; the generator of
    PyTorch's CUDA backend and of JAX) with key = seed and counter =
    (e, `stream`, low and high words of offset), keeping its top 24 bits:
    `(word >> 8) * 2^-24`. So every stream (each random op of a step) and
    every step draws independent numbers, and the same state always draws
    the same ones: the backward recomputes nothing and a replayed step sees
    the same masks.

    ```mlir
    %u = amp.random_uniform %rng {stream = 0 : i64} : tensor<2xi64> -> tensor<16x128xf32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[I64]>:$rng, I64Attr:$stream);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$rng attr-dict `:` type($rng) `->` type($result)";
  let hasVerifier = 1;
}

def AMP_StopGradientOp : AMP_Op<"stop_gradient", [Pure, SameOperandsAndResultType]> {
  let summary = "its operand's value, through which no gradient flows";
  let description = [{
    The identity in the forward; amp-differentiate treats its result as a
    constant (PyTorch's `Tensor.detach()`, and how an embedding's
    `padding_idx` row is kept out of the gradient). convert-amp-to-standard
    replaces it by its operand.

    ```mlir
    %c = amp.stop_gradient %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

#endif // AMPC_DIALECT_AMP_IR_AMPOPS_TD
