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

    Any amp op left without a lowering is an error at that op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"];
}

#endif // AMPC_CONVERSION_PASSES_TD
