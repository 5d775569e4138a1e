//===- Passes.td - ampc training-step passes ---------------------*- tablegen -*-===//

#ifndef AMPC_TRAINING_PASSES_TD
#define AMPC_TRAINING_PASSES_TD

include "mlir/Pass/PassBase.td"

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

def AMPHyperparameters : Pass<"amp-hyperparameters", "::mlir::ModuleOp"> {
  let summary = "Make optimizer hyperparameters run-time inputs of the training step";
  let description = [{
    For every training step, each hyperparameter named in `inputs` becomes
    one new argument, a `tensor<f64>` with role `hyperparameter`, its name
    in `amp.name` and the compiled value as its initial value in `amp.init`,
    read by every optimizer op of the step (`lr(%lr)`). A learning-rate
    schedule then changes `lr` between steps without recompiling, as
    `torch.optim.lr_scheduler` changes `param_group["lr"]`.

    Names: `lr`, `weight_decay`, `momentum` (SGD), `beta1`, `beta2`, `eps`
    (Adam, AdamW). Errors, located at the optimizer op: a name no optimizer
    op of the step has; optimizer ops that disagree on the value (one input
    per step); `momentum` of an SGD built without momentum (it has no
    buffer to weight).

    ```mlir
    %p1 = amp.sgd %p, %g {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    // becomes, with a new argument
    //   %lr: tensor<f64> {amp.init = 1.0e-01 : f64, amp.name = "lr", amp.role = "hyperparameter"}
    %p1 = amp.sgd %p, %g lr(%lr) {lr = 1.0e-01 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect"];
  let options = [
    ListOption<"inputs", "inputs", "std::string",
               "Hyperparameters to make step inputs (lr, weight_decay, momentum, beta1, "
               "beta2, eps)">,
    Option<"keepDisagreeing", "keep-disagreeing", "bool", /*default=*/"false",
           "A hyperparameter the step's optimizer ops disagree on stays compiled in, "
           "with a warning, instead of being an error (ampc's default lr)">,
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
      (steps with non-finite gradients are still skipped);
    - returns, just before the loss, a `tensor<i1>` result with role
      `found_inf`: true when the step was skipped (GradScaler's
      `found_inf`), so the caller learns it without another pass.

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
    Option<"reportFoundInf", "report-found-inf", "bool", /*default=*/"true",
           "Return the found_inf result">,
    Option<"warnWithoutStep", "warn-without-step", "bool", /*default=*/"true",
           "Warn when the module has no training step (amp-pipeline turns it off "
           "for loss-scaling=auto, where a forward-only module is expected)">,
  ];
}

def AMPClipGradients : Pass<"amp-clip-gradients", "::mlir::ModuleOp"> {
  let summary = "Gradient clipping by global norm or by value (torch.nn.utils.clip_grad_*_)";
  let description = [{
    For every training step, clips the gradients its optimizer ops receive,
    after loss scaling has unscaled them (as `scaler.unscale_(optimizer)`
    comes before `clip_grad_norm_` in a PyTorch AMP loop):

    - `max-norm=M` (with `norm-type=2|1|inf`): one `amp.clip_grad_norm` over
      all of the step's gradients, `torch.nn.utils.clip_grad_norm_`'s global
      norm of the f32 gradients; the norm is returned as a result with role
      `grad_norm` (`report-norm`), and under loss scaling a non-finite norm
      skips the step (it joins the `amp.all_finite` check);
    - `max-value=V`: `amp.clip_grad_value` on each gradient,
      `torch.nn.utils.clip_grad_value_`. The finiteness check still reads the
      unclipped gradients, so clamping an inf does not hide it.

    ```mlir
    %u = amp.unscale %g, %scale : tensor<4xf32>
    %c:2 = amp.clip_grad_norm %u {max_norm = 1.0 : f64} : tensor<4xf32> -> tensor<4xf32>, tensor<f32>
    %p1 = amp.sgd %p, %c#0 {lr = 0.1 : f64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    ```
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect"];
  let options = [
    Option<"maxNorm", "max-norm", "double", /*default=*/"0.0",
           "Clip by global norm to this value (0: no norm clipping)">,
    Option<"normType", "norm-type", "double", /*default=*/"2.0",
           "The norm: 2, 1 or inf">,
    Option<"maxValue", "max-value", "double", /*default=*/"0.0",
           "Clamp every gradient element to [-V, V] (0: no value clipping)">,
    Option<"reportNorm", "report-norm", "bool", /*default=*/"true",
           "Return the global norm as a grad_norm result">,
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

def AMPDataParallel : Pass<"amp-data-parallel", "::mlir::ModuleOp"> {
  let summary = "All-reduce gradients across MPI ranks inside each training step";
  let description = [{
    Data parallelism with DistributedDataParallel's semantics, decided at
    compile time. In every function with optimizer ops (the training step
    and, after `amp-grad-accumulation`, `@s_apply`; never `@s_accumulate`,
    which is DDP's `no_sync`), run it after `amp-loss-scaling`,
    `amp-clip-gradients` and `amp-grad-accumulation`:

    - the raw f32 gradients (after the backward, before `amp.unscale`, the
      clip and the finiteness check) are summed across ranks by
      `amp.all_reduce sum`, packed into buckets of at most `bucket-cap-mb`
      MiB in parameter order (one MPI call per bucket; a larger gradient is
      a bucket of its own);
    - the mean over ranks costs nothing extra: `amp.unscale` divides by
      `scale * world_size` instead of `scale` (without loss scaling, an
      `amp.unscale` by the world size is added);
    - the `amp.all_finite` flag is all-reduced too (min), so every rank
      takes the same skip decision and the same scale update;
    - with `average-buffers`, f32 buffers (BatchNorm running statistics)
      are averaged across ranks in the same buckets after every step.

    ```mlir
    %g:2 = amp.all_reduce sum %gw, %gb : tensor<4x8xf32>, tensor<8xf32>
    %n = amp.world_size : tensor<f32>
    %sn = arith.mulf %scale, %n : tensor<f32>
    %uw = amp.unscale %g#0, %sn : tensor<4x8xf32>
    ```

    The module gets `dlti.map = #dlti.map<"MPI:Implementation" = "...">`:
    the upstream MPI lowering's ABI (its default is MPICH's, which is wrong
    for Debian's OpenMPI).
  }];
  let options = [
    Option<"bucketCapMb", "bucket-cap-mb", "double", /*default=*/"25.0",
           "Largest gradient bucket in MiB (DDP's bucket_cap_mb)">,
    Option<"mpiImplementation", "mpi-implementation", "std::string",
           /*default=*/"\"OpenMPI\"", "The MPI ABI to call: OpenMPI or MPICH">,
    Option<"averageBuffers", "average-buffers", "bool", /*default=*/"true",
           "Average f32 buffers (BatchNorm running statistics) across ranks every step">,
  ];
  let statistics = [
    Statistic<"numBuckets", "buckets", "All-reduce buckets (MPI calls per step, found_inf's included)">,
    Statistic<"numReducedBytes", "reduced-bytes", "Bytes all-reduced per step">,
  ];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::DLTIDialect"];
}

#endif // AMPC_TRAINING_PASSES_TD
