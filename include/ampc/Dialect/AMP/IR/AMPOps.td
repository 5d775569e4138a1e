//===- AMPOps.td - amp dialect operations ------------------*- tablegen -*-===//

#ifndef AMPC_DIALECT_AMP_IR_AMPOPS_TD
#define AMPC_DIALECT_AMP_IR_AMPOPS_TD

include "ampc/Dialect/AMP/IR/AMPDialect.td"
include "ampc/Dialect/AMP/IR/AMPAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/CastInterfaces.td"

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

#endif // AMPC_DIALECT_AMP_IR_AMPOPS_TD
