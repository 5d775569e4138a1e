//===- AMP.h - the amp dialect ------------------------------------*- C++ -*-===//

#ifndef AMPC_DIALECT_AMP_IR_AMP_H
#define AMPC_DIALECT_AMP_IR_AMP_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/CastInterfaces.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ampc/Dialect/AMP/IR/AMPDialect.h.inc"
#include "ampc/Dialect/AMP/IR/AMPEnums.h.inc"

#define GET_OP_CLASSES
#include "ampc/Dialect/AMP/IR/AMPOps.h.inc"

namespace ampc::amp {

/// The float type for a precision (f32, f16 or bf16).
mlir::FloatType getFloatType(mlir::MLIRContext *ctx, Precision precision);

/// The precision of a float type, if ampc supports it.
std::optional<Precision> getPrecision(mlir::Type elementType);

/// Returns `type` (a float scalar or a shaped type of floats) with its element
/// type replaced by `elementType`.
mlir::Type withElementType(mlir::Type type, mlir::Type elementType);

/// The `amp.role` of argument `index` / result `index` of a function, if any.
std::optional<Role> getArgumentRole(mlir::FunctionOpInterface func, unsigned index);
std::optional<Role> getResultRole(mlir::FunctionOpInterface func, unsigned index);

/// Roles of state a training step updates and returns (in argument order).
inline bool isMutableRole(Role role) {
  return role == Role::param || role == Role::optimizer_state ||
         role == Role::scaler_state || role == Role::param_copy ||
         role == Role::grad_accumulator || role == Role::buffer;
}

/// Reads an op's `amp.precision` pin, if any. Invalid pins are rejected by the
/// dialect verifier, so a present, well-formed pin always yields a value.
std::optional<Precision> getPinnedPrecision(mlir::Operation *op);

/// The pin that holds for `op`: its own, else the nearest enclosing op's (a
/// pin on a `func.func` or a region-holding op covers every op inside, the
/// region form of `torch.autocast(enabled=False)`). `source`, when given,
/// receives the op carrying the pin.
std::optional<Precision> getEffectivePrecision(mlir::Operation *op,
                                               mlir::Operation **source = nullptr);

/// Reads a precision as pins, pass options and the CLI spell it: "f32",
/// "f16", "bf16", or ampc's and PyTorch's "fp32", "fp16".
std::optional<Precision> parsePrecision(llvm::StringRef name);

/// Fails, with an error at the op, for the first op under `root` holding a
/// `dense_resource` whose data the file does not carry (exporters write
/// `dense_resource<__elided__>` for weights they leave out): such a model
/// cannot compile, and the translation to LLVM IR would say so only at the
/// very end.
mlir::LogicalResult verifyResourcesPresent(mlir::Operation *root);

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_IR_AMP_H
