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

    Any amp op left without a lowering is an error at that op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // AMPC_CONVERSION_PASSES_TD
