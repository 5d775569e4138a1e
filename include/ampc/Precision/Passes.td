//===- Passes.td - ampc transformation passes --------------*- tablegen -*-===//

#ifndef AMPC_TRANSFORMS_PASSES_TD
#define AMPC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AMPAutocast : Pass<"amp-autocast", "::mlir::ModuleOp"> {
  let summary = "Run policy-selected ops in f16/bf16, inserting amp.cast at "
                "precision boundaries";
  let description = [{
    Classifies every op that computes on f32 data with the precision policy
    (allow / deny / infer / clear, see docs/autocast.md), paints the graph the
    way TensorFlow's AutoMixedPrecision does, and rewrites the painted ops to
    the compute type:

    1. allow ops (matmuls, convolutions) go low; pins (`amp.precision`) are
       obeyed over any list;
    2. deny ops stay f32, and so do infer/clear ops downstream of them on the
       way to another deny or infer op;
    3. infer/clear ops between low-precision producers and consumers go low;
    4. clear ops next to low-precision ops follow them.

    Casts are `amp.cast`, one per value and target type, placed right after the
    value's definition (so each weight is cast once, shared by all its low
    users). Ops with reduction loops keep their accumulator (`outs`) in
    `accumulate-type`: a low-precision matmul reads f16 inputs and accumulates
    in f32, and its f32 result is cast to its consumer's precision. Low
    elementwise `linalg.generic` ops store in the compute type but run their
    payload in f32 registers (PyTorch's "opmath").

    ```mlir
    %0 = linalg.matmul ins(%a, %w : tensor<8x16xf32>, tensor<16x4xf32>)
                       outs(%acc : tensor<8x4xf32>) -> tensor<8x4xf32>
    // becomes
    %a16 = amp.cast %a : tensor<8x16xf32> to tensor<8x16xf16>
    %w16 = amp.cast %w : tensor<16x4xf32> to tensor<16x4xf16>
    %0 = linalg.matmul ins(%a16, %w16 : tensor<8x16xf16>, tensor<16x4xf16>)
                       outs(%acc : tensor<8x4xf32>) -> tensor<8x4xf32>
    ```

    Ops the policy does not know stay f32 with a remark. With `report=FILE`
    the pass writes a JSON record with, per op, its location, name, class,
    final precision and the rule that decided it.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"computeType", "compute-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f16",
           "Low precision to compute allow ops in",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f16, "f16", "IEEE half precision"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
    Option<"accumulateType", "accumulate-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f32",
           "Accumulator precision of low-precision ops with reduction loops "
           "(f32, or the compute type itself)",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f32, "f32", "single precision"),
               clEnumValN(::ampc::amp::Precision::f16, "f16", "half precision"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
    Option<"policyFile", "policy", "std::string", /*default=*/"",
           "Policy file (YAML or JSON) applied on top of the built-in lists">,
    ListOption<"allowAdd", "allow-add", "std::string", "Ops (or globs) to put in the allow list">,
    ListOption<"denyAdd", "deny-add", "std::string", "Ops (or globs) to put in the deny list">,
    ListOption<"inferAdd", "infer-add", "std::string", "Ops (or globs) to put in the infer list">,
    ListOption<"clearAdd", "clear-add", "std::string", "Ops (or globs) to put in the clear list">,
    ListOption<"allowRemove", "allow-remove", "std::string", "Entries to take out of the allow list">,
    ListOption<"denyRemove", "deny-remove", "std::string", "Entries to take out of the deny list">,
    ListOption<"inferRemove", "infer-remove", "std::string", "Entries to take out of the infer list">,
    ListOption<"clearRemove", "clear-remove", "std::string", "Entries to take out of the clear list">,
    Option<"keepIOTypes", "keep-io-types", "bool", /*default=*/"true",
           "Keep function argument and result types f32 (false: arguments "
           "only used in low precision, and low-precision results, change type)">,
    Option<"reportFile", "report", "std::string", /*default=*/"",
           "Write the per-op decision record as JSON to this file">,
  ];
  let statistics = [
    Statistic<"numAllow", "num-allow", "Ops classified allow">,
    Statistic<"numDeny", "num-deny", "Ops classified deny">,
    Statistic<"numInfer", "num-infer", "Ops classified infer">,
    Statistic<"numClear", "num-clear", "Ops classified clear">,
    Statistic<"numUnknown", "num-unknown", "Ops the policy does not know (kept f32)">,
    Statistic<"numLowered", "num-lowered", "Ops rewritten to low precision">,
    Statistic<"numCastsInserted", "num-casts-inserted", "amp.cast ops inserted">,
  ];
}

def AMPCastCleanup : Pass<"amp-cast-cleanup"> {
  let summary = "Fold, deduplicate and hoist compiler-inserted amp.cast ops";
  let description = [{
    Tidies the casts `amp-autocast` (or any amp pass) inserted, never touching
    user casts (`arith.truncf`/`arith.extf`):

    - folds casts of constants into constants of the new type (weights held
      as constants are stored once, in low precision) and erases the f32
      constants left unused;
    - folds exact round trips (`f16 -> f32 -> f16` is the original value) and
      composes casts after exact widenings; lossy round trips (`f32 -> f16 ->
      f32`) are kept;
    - retypes casts of `tensor.empty`;
    - merges casts of one value to one type into a single cast placed right
      after the value's definition, so no value is cast twice to the same type.

    ```mlir
    %h = amp.cast %x : tensor<4xf16> to tensor<4xf32>
    %y = amp.cast %h : tensor<4xf32> to tensor<4xf16>   // folds to %x
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFolded", "num-folded", "amp.cast ops folded or canonicalized away">,
    Statistic<"numMerged", "num-merged", "Duplicate amp.cast ops merged">,
  ];
}

def AMPCheckPrecision : Pass<"amp-check-precision"> {
  let summary = "Check the guarantees of a mixed-precision graph";
  let description = [{
    Fails with a located error for every op that breaks what `amp-autocast`
    promises under the default policy:

    - every matmul-like op (contraction or convolution, named or generic)
      reads `compute-type` inputs, unless pinned to f32;
    - every reduction that adds or multiplies, and every op whose payload
      computes `math.exp`/`math.log`, computes in f32 (f32 payload values and
      accumulator).

    Used to check real model IR after autocast, and by users to check their
    own pipelines.
  }];
  let options = [
    Option<"computeType", "compute-type", "::ampc::amp::Precision",
           /*default=*/"::ampc::amp::Precision::f16",
           "Precision matmul-like ops must read",
           [{::llvm::cl::values(
               clEnumValN(::ampc::amp::Precision::f16, "f16", "IEEE half precision"),
               clEnumValN(::ampc::amp::Precision::bf16, "bf16", "bfloat16"))}]>,
  ];
  let statistics = [
    Statistic<"numChecked", "num-checked", "Ops checked">,
  ];
}

def AMPVerifyTrainingStep : Pass<"amp-verify-training-step", "::mlir::ModuleOp"> {
  let summary = "Check that functions marked amp.training_step follow the contract";
  let description = [{
    For every `func.func` with the `amp.training_step` attribute, checks the
    training-step contract of docs/training-step.md and reports each
    violation as an error located at the offending argument, result or op:

    - every argument and result has an `amp.role`; params are f32 tensors;
    - results are the updated state (param, optimizer_state, scaler_state,
      param_copy), in the order and with the types of the state arguments,
      then exactly one `loss` (f32 or tensor<f32>) last;
    - there is exactly one `amp.grad_seed`, and it seeds the returned loss;
    - every param is updated by exactly one optimizer op, whose gradient
      operand depends on the gradient seed, and whose updated param (and
      optimizer state) is returned at the matching position.

    ```mlir
    func.func @step(%w: tensor<4x4xf32> {amp.role = "param"},
                    %x: tensor<8x4xf32> {amp.role = "input"})
        -> (tensor<4x4xf32> {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
        attributes {amp.training_step} { ... }
    ```
  }];
}

def AMPLossScaling : Pass<"amp-loss-scaling", "::mlir::ModuleOp"> {
  let summary = "Static or dynamic loss scaling in the training step (GradScaler semantics)";
  let description = [{
    For every training step (docs/training-step.md):

    - multiplies the gradient seed by the scale S, so small gradients survive
      f16;
    - unscales every gradient before its optimizer op (`amp.unscale`, inverse
      computed in f64 as PyTorch does);
    - checks all gradients with one `amp.all_finite` reduction and, when any
      is inf/NaN, returns every piece of mutable state (params, optimizer
      state including step counters, persistent copies) bit-identical: an
      `arith.select` per state result, no host synchronization;
    - `dynamic`: the scale and the growth tracker become step state (two new
      arguments and results with role `scaler_state`, initial values in
      `amp.init`), updated by `amp.update_scale` exactly as
      `GradScaler.update` does; `static`: S is a constant and never changes
      (steps with non-finite gradients are still skipped).

    ```mlir
    %seed = amp.grad_seed %loss : tensor<f32>
    // becomes (dynamic)
    %seed = amp.grad_seed %loss : tensor<f32>
    %scaled = arith.mulf %seed, %scale : tensor<f32>
    ...
    %g = amp.unscale %grad, %scale : tensor<64x128xf32>
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"mode", "mode", "::ampc::LossScalingMode",
           /*default=*/"::ampc::LossScalingMode::Dynamic",
           "none, static or dynamic",
           [{::llvm::cl::values(
               clEnumValN(::ampc::LossScalingMode::None, "none", "no loss scaling"),
               clEnumValN(::ampc::LossScalingMode::Static, "static", "a fixed scale"),
               clEnumValN(::ampc::LossScalingMode::Dynamic, "dynamic", "GradScaler's dynamic scale"))}]>,
    Option<"scale", "scale", "double", /*default=*/"65536.0", "The fixed scale (static mode)">,
    Option<"initScale", "init-scale", "double", /*default=*/"65536.0",
           "Initial scale (dynamic mode), recorded in amp.init">,
    Option<"growthFactor", "growth-factor", "double", /*default=*/"2.0", "Scale growth factor">,
    Option<"backoffFactor", "backoff-factor", "double", /*default=*/"0.5", "Scale backoff factor">,
    Option<"growthInterval", "growth-interval", "int64_t", /*default=*/"2000",
           "Finite steps between scale growths">,
    Option<"minScale", "min-scale", "double", /*default=*/"0.0", "Lower clamp of the scale (0: none)">,
    Option<"maxScale", "max-scale", "double", /*default=*/"0.0",
           "Upper clamp of the scale (0: none; Apex uses 2^24)">,
  ];
}

def AMPMasterWeights : Pass<"amp-master-weights", "::mlir::ModuleOp"> {
  let summary = "FP32 master weights with one low-precision compute copy per param";
  let description = [{
    Run after `amp-autocast` on training steps. Parameters stay f32 masters:
    the optimizer ops read and update them in f32 (autocast never paints amp
    ops, and their gradients reach them as f32). This pass makes the compute
    copies explicit and unique:

    - every param gets exactly one `amp.cast` per low type, placed right after
      its definition and shared by the forward and backward matmuls (and the
      transposes feeding them);
    - with `persistent-copies=true` (Apex O2 style) that copy becomes step
      state: a new argument with role `param_copy` replaces the cast, and the
      step returns a fresh copy cast from the updated master, so the next
      step does not convert the weights again.

    ```mlir
    %w16 = amp.cast %w : tensor<64x128xf32> to tensor<64x128xf16>
    // with persistent-copies=true becomes an argument
    //   %w16: tensor<64x128xf16> {amp.role = "param_copy"}
    // and a result: amp.cast of the updated %w.
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect"];
  let options = [
    Option<"persistentCopies", "persistent-copies", "bool", /*default=*/"false",
           "Keep the low-precision param copies as step state (Apex O2)">,
  ];
  let statistics = [
    Statistic<"numCopies", "num-copies", "Low-precision param copies">,
    Statistic<"numMerged", "num-merged", "Duplicate param casts merged">,
  ];
}

def AMPGradAccumulation : Pass<"amp-grad-accumulation", "::mlir::ModuleOp"> {
  let summary = "Split each training step into accumulate and apply steps";
  let description = [{
    For k micro-batches per update. Next to every training step `@s` (run
    it after `amp-loss-scaling`), adds:

    - `@s_accumulate(params, [param copies], inputs, labels, [scale],
      accumulators) -> (accumulators', loss)`: forward and backward of one
      micro-batch; adds its f32 gradients (still multiplied by the loss
      scale, as PyTorch's `.grad` holds them between `scaler.scale(loss).backward()`
      calls) into f32 accumulators (role `grad_accumulator`, one per param,
      in param order);
    - `@s_apply(params, optimizer state, [param copies], [scaler state],
      accumulators) -> (params', optimizer state', [copies'], [scaler state'],
      zeroed accumulators)`: the loss-scaler check, unscale, optimizer
      updates and scale update of `@s`, reading the accumulated gradients,
      then zeroes the accumulators (also on a skipped step, as `zero_grad`
      does).

    Both are derived from `@s` itself, so they keep its policy decisions,
    master weights and loss scaling. Gradients are summed: divide the loss by
    k (as with PyTorch) for a mean over micro-batches.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def AMPDifferentiate : Pass<"amp-differentiate", "::mlir::ModuleOp"> {
  let summary = "Build an FP32 training step from a forward function (reverse-mode autodiff)";
  let description = [{
    Takes a function computing outputs (or a loss) from parameters and
    inputs, and adds the training step of the contract
    (docs/training-step.md) next to it, as `@<function>_train_step`:

    1. parameters: with `params=auto`, every f32 tensor constant of more
       than one element, not all zeros, that the computation reads as an
       input becomes a `param` argument (the corpus models keep their
       weights as constants), and
       `@<function>_initial_params` returns their values; with a list of
       argument numbers (`params=0,2`), those arguments are the params. The
       other arguments are `input`s.
    2. the loss: `loss=none` differentiates the function's single result,
       which must hold one element; `loss=mse` appends a `label` argument
       shaped like the result and the mean squared error;
       `loss=cross-entropy` appends a `label` argument and the softmax
       cross-entropy over the last dimension, averaged over the others
       (PyTorch's `cross_entropy`): with `labels=one-hot`, class
       probabilities shaped like the result; with `labels=indices`, i64
       class numbers shaped like the result without its last dimension.
    3. `amp.grad_seed` of the loss, the reverse-mode backward (plain
       linalg/tensor ops, so autocast classifies it like the forward;
       adjoints summed at fan-out, nothing recomputed), and one optimizer
       op per param, whose state becomes `optimizer_state` arguments.

    ```mlir
    // amp-opt model.mlir --amp-differentiate="loss=cross-entropy params=1,2 lr=0.1"
    func.func @model(%x: tensor<32x64xf32>, %w: tensor<64x10xf32>, %b: tensor<10xf32>)
        -> tensor<32x10xf32>
    // adds
    func.func @model_train_step(%x: tensor<32x64xf32> {amp.role = "input"},
        %w: ... {amp.role = "param"}, %b: ... {amp.role = "param"},
        %label: tensor<32x10xf32> {amp.role = "label"})
        -> (... {amp.role = "param"}, ... {amp.role = "param"}, tensor<f32> {amp.role = "loss"})
        attributes {amp.training_step}
    ```

    Aggregate ops (`linalg.softmax`) are decomposed into the generics they
    stand for first. Calls must be inlined first (`--inline`); an op on the
    path from a param to the loss without a gradient rule is an error at its
    location.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "The forward function (default: the module's only public function "
           "with a body and results)">,
    Option<"loss", "loss", "::ampc::DifferentiateLoss",
           /*default=*/"::ampc::DifferentiateLoss::None",
           "The loss appended to the function's result",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateLoss::None, "none",
                          "the result is the loss"),
               clEnumValN(::ampc::DifferentiateLoss::MSE, "mse",
                          "mean squared error against a label"),
               clEnumValN(::ampc::DifferentiateLoss::CrossEntropy, "cross-entropy",
                          "softmax cross-entropy against one-hot labels"))}]>,
    Option<"labels", "labels", "::ampc::DifferentiateLabels",
           /*default=*/"::ampc::DifferentiateLabels::OneHot",
           "What loss=cross-entropy's label holds",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateLabels::OneHot, "one-hot",
                          "class probabilities (f32), shaped like the result"),
               clEnumValN(::ampc::DifferentiateLabels::Indices, "indices",
                          "class numbers (i64), the result's shape without its last dimension"))}]>,
    Option<"optimizer", "optimizer", "::ampc::DifferentiateOptimizer",
           /*default=*/"::ampc::DifferentiateOptimizer::SGD",
           "The optimizer op updating each param",
           [{::llvm::cl::values(
               clEnumValN(::ampc::DifferentiateOptimizer::SGD, "sgd", "amp.sgd"),
               clEnumValN(::ampc::DifferentiateOptimizer::Adam, "adam", "amp.adam"),
               clEnumValN(::ampc::DifferentiateOptimizer::AdamW, "adamw", "amp.adamw"))}]>,
    Option<"params", "params", "std::string", /*default=*/"\"auto\"",
           "'auto' (f32 tensor constants become params) or argument numbers, "
           "comma-separated">,
    Option<"lr", "lr", "double", /*default=*/"0.01", "Learning rate">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false", "SGD Nesterov momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (adamw: 0.01 unless given, as torch.optim.AdamW)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "Adam beta2">,
    Option<"eps", "eps", "double", /*default=*/"1.0e-8", "Adam epsilon">,
  ];
  let statistics = [
    Statistic<"numParams", "params", "Params the training step updates">,
    Statistic<"numBackwardOps", "backward-ops", "Ops in the backward and the loss">,
  ];
}

def AMPStridedCopiesToLoops : Pass<"amp-strided-copies-to-loops", "::mlir::func::FuncOp"> {
  let summary = "Turn memref.copy of non-contiguous buffers into linalg.copy";
  let description = [{
    Part of the CPU lowering, after bufferization. A `memref.copy` between
    contiguous buffers lowers to `llvm.memcpy`; one into or out of a strided
    view (an `insert_slice` into a larger tensor, a padded or spread-out
    gradient) lowers to a call to the `memrefCopy` routine of MLIR's
    C runner utilities, which compiled libraries do not link. This pass
    makes those copies `linalg.copy`, which lowers to loops like the rest
    (and, in the CUDA lowering, to kernels).

    ```mlir
    memref.copy %a, %view : memref<2x3xf32> to memref<2x3xf32, strided<[4, 1], offset: 1>>
    // becomes
    linalg.copy ins(%a : memref<2x3xf32>) outs(%view : memref<2x3xf32, strided<[4, 1], offset: 1>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
  let options = [
    Option<"keepContiguous", "keep-contiguous", "bool", /*default=*/"true",
           "Keep copies whose sides are contiguous views (llvm.memcpy copies "
           "them); false keeps only copies between identity-layout buffers "
           "(what gpu.memcpy takes)">,
  ];
}

def AMPRequestCWrappers : Pass<"amp-request-c-wrappers", "::mlir::ModuleOp"> {
  let summary = "Ask for C entry points (_mlir_ciface_*) of the exported functions only";
  let description = [{
    Part of the CPU lowering. Like upstream `llvm-request-c-wrappers`, sets
    `llvm.emit_c_interface` so that `convert-func-to-llvm` emits
    `_mlir_ciface_<name>` taking memref descriptors, but only on public
    functions with a body: the entry points a library exports. Declarations
    keep their C names, so calls to routines a model's harness declares
    (`func.func private @rtclock() -> f64`) still reach those routines.
  }];
}

def AMPTileAndVectorize : Pass<"amp-tile-and-vectorize", "::mlir::ModuleOp"> {
  let summary = "Tile matmul-like ops and vectorize the tiles for CPUs";
  let description = [{
    Part of the CPU lowering, on tensors: every `linalg.matmul` and
    `linalg.batch_matmul` is tiled into register-sized blocks (`tile-sizes`,
    M x N x K; batch dimensions get 1) and each tile is vectorized, with masks
    where a dimension does not divide. Mixed-precision matmuls keep their
    semantics: f16/bf16 tiles are widened to f32 vectors and accumulate in
    f32. `linalg.softmax` is decomposed into generics (max, sub, exp, sum,
    div) on the way, so that it lowers. Implemented as a transform-dialect
    script applied by the pass.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::transform::TransformDialect"];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t", "M, N, K tile sizes (default 8,32,1)">,
  ];
}

//===----------------------------------------------------------------------===//
// CUDA back end
//===----------------------------------------------------------------------===//

def AMPGPUSinkScalars : Pass<"amp-gpu-sink-scalars", "::mlir::func::FuncOp"> {
  let summary = "Compute scalars read from 0-d tensors inside the kernels that use them";
  let description = [{
    Part of the CUDA lowering, on tensors. Optimizer and loss-scaler
    lowerings read scalars (a step counter, the loss scale) with
    `tensor.extract` and capture values computed from them in elementwise
    `linalg.generic` payloads. On the GPU those tensors live in device
    memory, which host code cannot read. This pass adds each such 0-d tensor
    to the generic as an input broadcast to every element, and recomputes
    the scalar (a few arithmetic ops) inside the payload.

    ```mlir
    %s = tensor.extract %step[] : tensor<i64>
    %first = arith.cmpi eq, %s, %c0 : i64
    %r = linalg.generic ... ins(%g, %buf : ...) {
      ^bb0(%a: f32, %b: f32, %o: f32):
        %v = arith.select %first, %a, %b : f32
    // becomes
    %r = linalg.generic ... ins(%g, %buf, %step : ..., tensor<i64>) {
      ^bb0(%a: f32, %b: f32, %s: i64, %o: f32):
        %first = arith.cmpi eq, %s, %c0 : i64
        %v = arith.select %first, %a, %b : f32
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AMPGPUSplitReductions : Pass<"amp-gpu-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Split full reductions to a scalar so that GPU threads share them";
  let description = [{
    Part of the CUDA lowering, on tensors. A `linalg.generic` reducing every
    dimension into a 0-d tensor (a mean loss) has no parallel loop, so it
    would run in one GPU thread. When its combiner is recognized (`addf`,
    `mulf`, `maximumf`, `minimumf` with the accumulator as one operand, or
    `subf` with the accumulator first), the pass splits it: a first generic
    reduces all but the outermost dimension in parallel over that dimension
    (from the combiner's neutral element), and a second combines the partial
    results into the original accumulator. A 1-D stage longer than 256 is
    reshaped into chunks of at most 256 and split the same way. A 2-D
    reduction of at least 1024 rows (a cross-entropy over a large batch,
    the loss scaler's check of a weight gradient) is split into row chunks
    of up to 64 instead: thread (a, j) reduces rows a*c .. a*c+c-1 of column
    j, so that neighbouring threads read neighbouring elements and
    (rows / c) * columns threads share the work.

    Reductions over one dimension with fewer than 32768 parallel iterations
    and at least 512 reduction steps (bias gradients, softmax row sums) are
    split by upstream `linalg::splitReduction` into up to 64 parallel chunks
    and a combining stage, so that they fill the GPU. A reduction along the
    innermost dimension (a row sum) is split with the chunks inner
    (element k * ratio + chunk), so that neighbouring threads read
    neighbouring elements.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def AMPGPULibraryGemm : Pass<"amp-gpu-library-gemm", "::mlir::ModuleOp"> {
  let summary = "Route matmul-like ops on buffers to the runtime's cuBLASLt GEMM";
  let description = [{
    Part of the CUDA lowering, after bufferization. Every structured op that
    is a contraction with one M, one N, one K and at most one batch dimension
    (`linalg.matmul` and its transposed forms, `linalg.batch_matmul`,
    equivalent `linalg.generic`s) whose operands are f32/f16/bf16 buffers
    with unit inner stride becomes a call to `ampc_cuda_gemm` (see
    runtime/cuda/ampc_cuda_runtime.h): tensor-core GEMMs accumulating in f32.

    Two producers fold into the call:
    - a `linalg.fill` of zero into the output right before the GEMM becomes
      `beta = 0` (no separate kernel clears the accumulator);
    - a `linalg.transpose` that only feeds the GEMM becomes the GEMM's
      transpose flag (no transposed copy is written).

    For an f16/bf16 GEMM that starts from zero into an f32 buffer of its
    own, its one consumer may fold in too, so that no f32 result is written
    and read back:
    - a bias addition (a 2-D elementwise `linalg.generic` computing
      `round(c + bias)` with the bias along N, in the output's type, f16/bf16
      or f32) becomes cuBLASLt's BIAS epilogue writing the generic's output.
      The epilogue adds the bias to the f32 accumulator and rounds once,
      where autocast's payload rounds the product to bf16/f16 first: the
      result can differ in the last bit, as with PyTorch's fused
      `addmm` epilogue. A bias stored in f32 and rounded in the payload is
      rounded once into a temporary;
    - readers that all round the result to the input type first (the ReLU
      backward reads `truncf(c)`) read a GEMM output written in that type:
      cuBLASLt converts the f32 accumulator itself, rounding to nearest like
      `arith.truncf` (not yet compared bit for bit on a GPU; the GPU tests
      compare the whole step with the CPU back end within tolerances).

    ```mlir
    linalg.fill ins(%zero : f32) outs(%c : memref<32x128xf32>)
    linalg.matmul ins(%a, %b : memref<32x64xbf16>, memref<64x128xbf16>)
                  outs(%c : memref<32x128xf32>)
    // becomes
    func.call @ampc_cuda_gemm(%bf16, %bf16, %f32, %false, %false, %c1, %c32,
        %c128, %c64, %pa, %c64, %c2048, %pb, %c128, %c8192, %pc, %c128,
        %c4096, %beta0, %no_bias) : (...) -> ()
    ```

    Contractions that do not fit (other element types, non-unit inner
    strides, several M/N/K dimensions) stay as they are and become kernels.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numGemms", "gemms", "Contractions routed to cuBLASLt">,
    Statistic<"numFoldedFills", "folded-fills", "Zero fills folded into beta = 0">,
    Statistic<"numFoldedTransposes", "folded-transposes", "Transposes folded into GEMM flags">,
    Statistic<"numBiasEpilogues", "bias-epilogues", "Bias additions folded into the BIAS epilogue">,
    Statistic<"numNarrowedResults", "narrowed-results",
              "f32 GEMM results written in the input type for readers that round them">,
  ];
}

def AMPFreeAfterLastUse : Pass<"amp-free-after-last-use", "::mlir::func::FuncOp"> {
  let summary = "Free each temporary buffer right after its last use, allocate it right before its first";
  let description = [{
    Part of the CPU and CUDA lowerings, after buffer deallocation.
    Ownership-based deallocation frees a block's temporaries at the end of
    the block; a training step is one block, so every activation, gradient
    and cast copy would stay allocated until the step returns and its peak
    memory would be the sum of all temporaries. This pass moves each
    `memref.dealloc` of a buffer allocated in the same block to just after
    the last op of the block that uses the buffer: directly, through a view,
    through its extracted pointer or metadata and index arithmetic on them
    (a library GEMM call), or inside a nested region. A buffer used outside
    the block keeps its dealloc where it is. Each `memref.alloc` also moves
    down to just before the first op of its block that uses it. On the GPU
    allocations and frees are stream-ordered, so the live set at any point
    of the stream is what the step needs there.
  }];
  let statistics = [
    Statistic<"numMoved", "moved", "Deallocations moved up to the last use">,
    Statistic<"numAllocsMoved", "allocs-moved", "Allocations moved down to the first use">,
  ];
}

def AMPGPUInPlaceState : Pass<"amp-gpu-in-place-state", "::mlir::func::FuncOp"> {
  let summary = "Decide whether a training step may update its state in place";
  let description = [{
    Part of the CUDA lowering, on buffers, after `amp-gpu-library-gemm`. A
    training step reads its state (parameters, optimizer and scaler state)
    from arguments and writes the new state to out-parameters; the caller
    keeps two sets of buffers and swaps them. Passing the same buffer as
    argument and out-parameter halves the state's memory (and one captured
    CUDA graph then serves every step), but only if nothing reads an old
    value after the new one may have overwritten it.

    For a function carrying `ampc.state_pairs` (argument and out-parameter
    indices, pair by pair; `ampc` sets it from the training-step contract's
    roles), the pass walks the step's buffer operations in order and accepts
    a pair when, once the out-parameter may have been written, the argument
    is read only by ops that update the out-parameter element by element at
    the same indices (a linalg op with identity maps for both, such as the
    optimizer update), and nothing writes the argument. Library calls count
    as reading and writing every buffer whose address they take (the GEMM
    writes only its C). Where a pair fails because its out-parameter is
    written before the last read of the argument (a step counter
    incremented before the optimizer update that reads the old count), the
    one op writing it moves to just after that read, if nothing in between
    touches the out-parameter or writes what the op reads. When every
    pair passes, the function gets `ampc.in_place_state`, which `ampc`
    reports in the manifest (`"in_place_state": true`) and the Python
    runtime follows; otherwise nothing changes.
  }];
  let statistics = [
    Statistic<"numInPlace", "in-place", "Steps that may update their state in place">,
    Statistic<"numRejected", "rejected", "Steps that must keep two state buffers">,
    Statistic<"numMoved", "moved", "State updates moved after the last read of the old state">,
  ];
}

def AMPGPUParallelLoopsOuter : Pass<"amp-gpu-parallel-loops-outer", "::mlir::func::FuncOp"> {
  let summary = "Put the parallel loops of structured ops outermost, for GPU mapping";
  let description = [{
    Part of the CUDA lowering, on buffers. GPU threads come from the parallel
    loops that enclose an op's loop nest; a reduction loop outside them (a
    column sum iterates `["reduction", "parallel"]`) would stay on the host
    and launch one kernel per iteration. This pass interchanges every
    structured op's loops (named ops are generalized first) so that parallel
    loops come first, in their original order, and reduction loops run
    inside each thread.

    ```mlir
    linalg.generic {indexing_maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d1)],
                    iterator_types = ["reduction", "parallel"]} ...
    // becomes
    linalg.generic {indexing_maps = [(d0, d1) -> (d1, d0), (d0, d1) -> (d0)],
                    iterator_types = ["parallel", "reduction"]} ...
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def AMPGPUPromoteAccumulators : Pass<"amp-gpu-promote-accumulators", "::mlir::func::FuncOp"> {
  let summary = "Carry the accumulators of reduction loops in registers";
  let description = [{
    Part of the CUDA lowering, after `convert-linalg-to-parallel-loops`. A
    reduction loop inside a thread (an `scf.for` nested in an `scf.parallel`)
    loads its accumulator from memory and stores it back on every iteration:
    on a GPU, a global-memory round trip per element, and a store that keeps
    LLVM from hoisting loop-invariant loads it cannot prove independent.
    Where the loop body loads and stores one element at loop-invariant
    indices and touches that buffer nowhere else, the element is loaded once
    before the loop, carried as an `iter_arg`, and stored once after it.
    Distinct allocations and distinct function arguments are taken not to
    alias (the runtime passes distinct buffers).

    Loops that carry accumulators are then unrolled by `unroll-factor` where
    it divides their constant trip count (at least twice over): a GPU thread
    issues in order, so one load per iteration would wait out the memory
    latency every time; unrolled, several loads are in flight. The order of
    the accumulation is unchanged.

    ```mlir
    scf.for %j = %c0 to %n step %c1 {
      %acc = memref.load %out[%i] : memref<8xf32>
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %s = arith.addf %x, %acc : f32
      memref.store %s, %out[%i] : memref<8xf32>
    }
    // becomes
    %init = memref.load %out[%i] : memref<8xf32>
    %sum = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %init) -> (f32) {
      %x = memref.load %in[%i, %j] : memref<8x32xf32>
      %s = arith.addf %x, %acc : f32
      scf.yield %s : f32
    }
    memref.store %sum, %out[%i] : memref<8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"unrollFactor", "unroll-factor", "int64_t", /*default=*/"8",
           "Unroll factor of loops carrying accumulators (1: no unrolling)">,
  ];
  let statistics = [
    Statistic<"numPromoted", "promoted", "Accumulators carried in registers">,
    Statistic<"numUnrolled", "unrolled", "Accumulating loops unrolled">,
  ];
}

def AMPGPUVectorizeLoops : Pass<"amp-gpu-vectorize-loops", "::mlir::func::FuncOp"> {
  let summary = "Give each GPU thread a vector of neighbouring elements, with 16-byte accesses";
  let description = [{
    Part of the CUDA lowering, after `convert-linalg-to-parallel-loops` and
    before thread-block tiling. One element per thread makes a warp move 64
    bytes of bf16 per instruction and spend its time on index arithmetic.
    For an outermost `scf.parallel` whose body is straight-line code (an
    elementwise op: no nested loops), the innermost loop steps by a vector
    width instead: `vector-bytes` divided by the size of the narrowest
    element read or written (8 for bf16 and 16-byte vectors). Loads and
    stores whose last index is the innermost induction variable become
    `vector.load` / `vector.store` with the alignment they are guaranteed;
    loads that do not vary along it (a per-row value, a scalar) stay scalar
    and are broadcast; arithmetic and math on varying values works on
    vectors.

    A loop qualifies when its innermost trip count is a multiple of the
    width, every varying access indexes the innermost dimension by the
    induction variable alone, and the buffers have offset 0, unit innermost
    stride and outer strides that are multiples of the width (rows start
    aligned: the runtime's allocations are 256-byte aligned). Others are
    left as they are. The loop then counts vectors with a unit step (tiling
    and its bound guards see an ordinary loop).

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c8192, %c4096) step (%c1, %c1) {
      %x = memref.load %in[%i, %j] : memref<8192x4096xbf16>
      %e = arith.extf %x : bf16 to f32
      %r = arith.maximumf %e, %zero : f32
      %t = arith.truncf %r : f32 to bf16
      memref.store %t, %out[%i, %j] : memref<8192x4096xbf16>
    }
    // becomes
    scf.parallel (%i, %v) = (%c0, %c0) to (%c8192, %c512) step (%c1, %c1) {
      %j = arith.muli %v, %c8 : index
      %x = vector.load %in[%i, %j] {alignment = 16 : i64} : memref<8192x4096xbf16>, vector<8xbf16>
      %e = arith.extf %x : vector<8xbf16> to vector<8xf32>
      %z = vector.broadcast %zero : f32 to vector<8xf32>
      %r = arith.maximumf %e, %z : vector<8xf32>
      %t = arith.truncf %r : vector<8xf32> to vector<8xbf16>
      vector.store %t, %out[%i, %j] {alignment = 16 : i64} : memref<8192x4096xbf16>, vector<8xbf16>
    }
    ```
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect", "::mlir::arith::ArithDialect"];
  let options = [
    Option<"vectorBytes", "vector-bytes", "int64_t", /*default=*/"16",
           "Bytes per access of the narrowest element type">,
  ];
  let statistics = [
    Statistic<"numVectorized", "vectorized", "Loops vectorized">,
  ];
}

def AMPGPUTileParallelLoops : Pass<"amp-gpu-tile-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile host parallel loops into GPU thread blocks of 256, shaped by rank";
  let description = [{
    Part of the CUDA lowering, before `gpu-map-parallel-loops`. Upstream
    `scf-parallel-loop-tiling` applies one list of tile sizes to every loop
    nest, whatever its rank, so 16x16 blocks give 1-D loops 16 threads. This
    pass tiles each outermost `scf.parallel` by its own rank into blocks of
    `block-size` threads: the innermost dimension gets 64 (fewer when it is
    shorter, rounded up to a power of two), the next one the rest of the
    block, outer dimensions 1; 1-D loops get the whole block. With the
    innermost loop on `threadIdx.x`, a warp reads 32 neighbouring elements.
    Tiles that do not divide a bound are guarded inside (no min/max bounds).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256", "Threads per block">,
  ];
}

def AMPGPUDeviceMemory : Pass<"amp-gpu-device-memory", "::mlir::func::FuncOp"> {
  let summary = "Put the host code's buffers in device memory";
  let description = [{
    Part of the CUDA lowering, once every structured op is a `gpu.launch` (or
    a library call): the host function then only allocates, copies and
    launches, and all of its buffers live on the device.
    - `memref.alloc` / `memref.dealloc` become `gpu.alloc` / `gpu.dealloc`
      (stream-ordered allocations in the runtime);
    - `memref.copy` becomes `gpu.memcpy`;
    - `memref.get_global` (a constant) becomes a device buffer filled from
      the host constant.
    Host code that would read or write a buffer element by element is an
    error naming the op: on the device such code would fault.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def AMPGPUMergeKernelModules : Pass<"amp-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in its own `gpu.module`, which
    becomes its own binary, loaded by its own module-load call. This pass
    moves all kernels into the first `gpu.module` (renaming on clashes) and
    retargets the `gpu.launch_func` ops: one binary per compiled step, one
    PTX or cubin file to emit and inspect.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def AMPGPUStreamOrder : Pass<"amp-gpu-stream-order", "::mlir::func::FuncOp"> {
  let summary = "Order a host function's GPU work on one stream, synchronizing once";
  let description = [{
    Makes every `gpu.alloc`, `gpu.dealloc`, `gpu.memcpy`, `gpu.memset` and
    `gpu.launch_func` of a function asynchronous, chained on one token from a
    `gpu.wait async` at the entry, and waits for the chain once before each
    return. Unlike upstream `gpu-async-region`, calls between the GPU ops (the
    runtime's GEMMs, which enqueue on the same stream) do not force a host
    synchronization: the step runs without stalls and can be captured as a
    CUDA graph.

    ```mlir
    gpu.launch_func @k::@k0 blocks in (...) threads in (...) args(...)
    gpu.launch_func @k::@k1 blocks in (...) threads in (...) args(...)
    return
    // becomes
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @k::@k0 ...
    %t2 = gpu.launch_func async [%t1] @k::@k1 ...
    gpu.wait [%t2]
    return
    ```

    GPU ops inside host control flow (loops, conditionals) are an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // AMPC_TRANSFORMS_PASSES_TD
