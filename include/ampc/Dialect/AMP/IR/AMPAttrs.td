//===- AMPAttrs.td - amp dialect enums and attributes ------*- tablegen -*-===//

#ifndef AMPC_DIALECT_AMP_IR_AMPATTRS_TD
#define AMPC_DIALECT_AMP_IR_AMPATTRS_TD

include "mlir/IR/EnumAttr.td"

// The precisions ampc can pin an op to or compute in. The string forms are the
// spelling used by pins (`amp.precision = "bf16"`), pass options and policy
// files.
def AMP_Precision : I32EnumAttr<"Precision", "floating-point compute precision", [
    I32EnumAttrCase<"f32",  0>,
    I32EnumAttrCase<"f16",  1>,
    I32EnumAttrCase<"bf16", 2>
  ]> {
  let cppNamespace = "::ampc::amp";
  let genSpecializedAttr = 0;
}

// What a training-step argument or result is (docs/training-step.md).
def AMP_Role : I32EnumAttr<"Role", "role of a training-step argument or result", [
    I32EnumAttrCase<"param", 0>,
    I32EnumAttrCase<"optimizer_state", 1>,
    I32EnumAttrCase<"input", 2>,
    I32EnumAttrCase<"label", 3>,
    I32EnumAttrCase<"scaler_state", 4>,
    I32EnumAttrCase<"param_copy", 5>,
    I32EnumAttrCase<"loss", 6>,
    I32EnumAttrCase<"grad_accumulator", 7>,
    // Results a step reports without carrying them as state.
    I32EnumAttrCase<"found_inf", 8>,
    // Scalars a schedule changes between steps (lr, weight decay, ...).
    I32EnumAttrCase<"hyperparameter", 9>,
    // The global gradient norm amp-clip-gradients computed (a report).
    I32EnumAttrCase<"grad_norm", 10>,
    // Non-trainable model state the forward updates (BatchNorm running
    // statistics): on a forward function, an argument and the result that
    // updates it, paired in order.
    I32EnumAttrCase<"buffer", 11>
  ]> {
  let cppNamespace = "::ampc::amp";
  let genSpecializedAttr = 0;
}

#endif // AMPC_DIALECT_AMP_IR_AMPATTRS_TD
