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

#endif // AMPC_DIALECT_AMP_IR_AMPATTRS_TD
