//===- Passes.td - ampc conversion passes ------------------*- tablegen -*-===//

#ifndef AMPC_CONVERSION_PASSES_TD
#define AMPC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertAMPToStandard : Pass<"convert-amp-to-standard"> {
  let summary = "Lower amp dialect ops to upstream arith/linalg/tensor ops";
  let description = [{
    Replaces every amp op with upstream ops so the result can go through any
    MLIR lowering pipeline:

    - `amp.cast` narrowing becomes `arith.truncf` (round to nearest even),
      widening `arith.extf`, and f16 <-> bf16 an `arith.extf` to f32 followed
      by `arith.truncf` (exact same rounding as a direct conversion). Tensor
      casts stay elementwise arith ops on tensors.

    ```mlir
    %h = amp.cast %x : tensor<4xf32> to tensor<4xf16>
    // becomes
    %h = arith.truncf %x : tensor<4xf32> to tensor<4xf16>
    ```

    - `amp.grad_seed` becomes the constant 1.0;
    - `amp.sgd`, `amp.adam`, `amp.adamw` become one elementwise
      `linalg.generic` over the parameter (f32 payload, in PyTorch's order of
      operations) plus scalar code for the step counter and, for Adam, the
      f64 bias corrections.

    The amp attributes (`amp.precision` pins, `amp.role`, `amp.init`,
    `amp.training_step`) are dropped too: they describe the step for the
    passes and the manifest, and nothing after this pass reads them.

    - `amp.all_reduce` (one gradient bucket) packs its operands into one
      fresh flat tensor, reduces its buffer in place with `amp.all_reduce_in_place` (the one
      amp op this pass leaves; `amp-cpu-collectives-to-mpi` makes it an
      upstream `mpi.allreduce` after buffer deallocation), and returns views
      of it;
      `amp.world_size` calls the CPU runtime's `ampc_mpi_step_world_size`. Both
      are CPU-only (docs/distributed.md).

    Any amp op left without a lowering is an error at that op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect"];
}

def ConvertATenToLinalg : Pass<"convert-aten-to-linalg"> {
  let summary = "Lower the aten frontend ops (ampc.torch's import) to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `aten` op into upstream ops with PyTorch 1.13's CPU
    semantics, keeping each op's location (the model's source line), so
    amp-differentiate, amp-autocast and the back ends see plain linalg:

    - elementwise ops become `linalg.generic`s that broadcast their operands
      numpy-style (a splat-constant operand, how a Python number arrives,
      becomes a scalar in the payload);
    - `mm`/`addmm`/`bmm`/`baddbmm` become `linalg.matmul` /
      `linalg.batch_matmul` (plus the scaled addend), convolutions the
      named `linalg.conv_2d_*` ops over a padded input (transposed ones over
      an input spread out by the stride, with the kernel flipped);
    - normalizations and softmax become their reductions and elementwise
      steps in f32, as PyTorch computes them; batch norm in training mode
      also yields its updated running statistics;
    - pooling becomes `linalg.pooling_nchw_*`, resizes and advanced
      indexing a gather (`tensor.extract` in a generic);
    - views, permutes, slices, concatenations and pads become tensor ops;
    - `bernoulli`/`rand` draw from `amp.random_uniform`, and `detach`
      becomes `amp.stop_gradient`.

    ```mlir
    %y = aten.relu %x : tensor<4x8xf32>
    // becomes
    %e = tensor.empty() : tensor<4x8xf32>
    %y = linalg.generic {...} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %cst : f32
      linalg.yield %0 : f32
    } -> tensor<4x8xf32>
    ```

    The aten op verifiers check what the lowering relies on (static shapes,
    the result shapes ATen computes), so an op that reaches this pass always
    lowers.
  }];
  let dependentDialects = ["::ampc::amp::AMPDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // AMPC_CONVERSION_PASSES_TD
