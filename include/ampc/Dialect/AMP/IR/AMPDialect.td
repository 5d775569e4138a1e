//===- AMPDialect.td - the amp dialect ---------------------*- tablegen -*-===//

#ifndef AMPC_DIALECT_AMP_IR_AMPDIALECT_TD
#define AMPC_DIALECT_AMP_IR_AMPDIALECT_TD

include "mlir/IR/OpBase.td"

def AMP_Dialect : Dialect {
  let name = "amp";
  let cppNamespace = "::ampc::amp";
  let summary = "Automatic mixed precision: compiler casts, precision pins "
                "and (later) training-step vocabulary";
  let description = [{
    The `amp` dialect holds what ampc's mixed-precision passes add to an FP32
    model: `amp.cast`, a precision conversion that only the compiler inserts
    (so cleanup may fold the compiler's own round trips without touching the
    user's `arith.truncf`/`arith.extf`), and the `amp.precision` discardable
    attribute, a per-op pin that `amp-autocast` obeys over any policy list:

    ```mlir
    %0 = linalg.matmul {amp.precision = "f32"}
           ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>)
           outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
    ```

    Valid pin values are `"f32"`, `"f16"` and `"bf16"`; anything else is a
    verifier error located at the pinned op.
  }];
  let hasConstantMaterializer = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the per-op precision pin attribute.
    static constexpr ::llvm::StringLiteral kPrecisionAttrName = "amp.precision";
    /// Unit attribute marking a func.func as a training step.
    static constexpr ::llvm::StringLiteral kTrainingStepAttrName = "amp.training_step";
    /// Argument/result attribute naming the role of a training-step value.
    static constexpr ::llvm::StringLiteral kRoleAttrName = "amp.role";
    /// Argument attribute with the initial value of compiler-added state.
    static constexpr ::llvm::StringLiteral kInitAttrName = "amp.init";
    /// Argument/result attribute: the stable name of a state value or
    /// hyperparameter ("lr", "loss_scale"), for manifests and checkpoints.
    static constexpr ::llvm::StringLiteral kNameAttrName = "amp.name";
    /// Argument attribute of a persistent low-precision param copy: the
    /// argument number of the param it copies.
    static constexpr ::llvm::StringLiteral kCopyOfAttrName = "amp.copy_of";
    /// Key of the fused-location metadata that marks an op as part of the
    /// backward of a forward op (its name): set by amp-differentiate.
    static constexpr ::llvm::StringLiteral kAdjointOfAttrName = "amp.adjoint_of";
    /// On a training step: the function returning its params' initial values.
    static constexpr ::llvm::StringLiteral kInitialParamsAttrName = "amp.initial_params";
  }];
}

class AMP_Op<string mnemonic, list<Trait> traits = []>
    : Op<AMP_Dialect, mnemonic, traits>;

#endif // AMPC_DIALECT_AMP_IR_AMPDIALECT_TD
