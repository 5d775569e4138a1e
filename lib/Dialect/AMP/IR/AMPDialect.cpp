//===- AMPDialect.cpp - the amp dialect -------------------------------------===//

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace ampc::amp;

#include "ampc/Dialect/AMP/IR/AMPDialect.cpp.inc"
#include "ampc/Dialect/AMP/IR/AMPEnums.cpp.inc"

void AMPDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ampc/Dialect/AMP/IR/AMPOps.cpp.inc"
      >();
}

Operation *AMPDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

LogicalResult AMPDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  if (attr.getName() == kTrainingStepAttrName) {
    if (!isa<UnitAttr>(attr.getValue()) || !isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << kTrainingStepAttrName
                             << "' is a unit attribute on a function";
    return success();
  }
  if (attr.getName() == kInitialParamsAttrName) {
    if (!isa<FlatSymbolRefAttr>(attr.getValue()) || !isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << kInitialParamsAttrName
                             << "' is a function symbol on a training step";
    return success();
  }
  if (attr.getName() != kPrecisionAttrName)
    return op->emitError() << "unknown amp dialect attribute '"
                           << attr.getName().getValue() << "'";
  auto str = dyn_cast<StringAttr>(attr.getValue());
  if (!str)
    return op->emitError() << "'" << kPrecisionAttrName
                           << "' must be a string: \"f32\", \"f16\" or \"bf16\"";
  if (!parsePrecision(str.getValue()))
    return op->emitError() << "'" << kPrecisionAttrName << "' pins to unsupported type '"
                           << str.getValue()
                           << "'; expected \"f32\", \"f16\" or \"bf16\" (or \"fp32\", \"fp16\")";
  return success();
}

static LogicalResult verifyRole(Operation *op, NamedAttribute attr,
                                StringRef what, unsigned index, bool isResult) {
  if (!isResult && attr.getName() == AMPDialect::kInitAttrName) {
    if (!isa<FloatAttr, IntegerAttr>(attr.getValue()))
      return op->emitError() << what << " #" << index << ": '" << AMPDialect::kInitAttrName
                             << "' must be a float or integer attribute";
    return success();
  }
  if (!isResult && attr.getName() == AMPDialect::kCopyOfAttrName) {
    auto of = dyn_cast<IntegerAttr>(attr.getValue());
    if (!of || of.getInt() < 0)
      return op->emitError() << what << " #" << index << ": '" << AMPDialect::kCopyOfAttrName
                             << "' must be an argument number";
    return success();
  }
  if (attr.getName() == AMPDialect::kNameAttrName) {
    auto name = dyn_cast<StringAttr>(attr.getValue());
    if (!name || name.getValue().empty())
      return op->emitError() << what << " #" << index << ": '" << AMPDialect::kNameAttrName
                             << "' must be a non-empty string";
    return success();
  }
  if (attr.getName() != AMPDialect::kRoleAttrName)
    return op->emitError() << "unknown amp dialect " << what << " attribute '"
                           << attr.getName().getValue() << "'";
  auto str = dyn_cast<StringAttr>(attr.getValue());
  std::optional<Role> role = str ? symbolizeRole(str.getValue()) : std::nullopt;
  if (!role)
    return op->emitError() << what << " #" << index << ": '" << AMPDialect::kRoleAttrName
                           << "' must be one of \"param\", \"optimizer_state\", "
                              "\"input\", \"label\", \"scaler_state\", \"param_copy\", "
                              "\"loss\", \"grad_accumulator\", \"found_inf\", "
                              "\"hyperparameter\", \"grad_norm\", \"buffer\"";
  if (isResult && (*role == Role::input || *role == Role::label || *role == Role::hyperparameter))
    return op->emitError() << what << " #" << index << ": role '"
                           << stringifyRole(*role) << "' is only for arguments";
  if (!isResult && (*role == Role::loss || *role == Role::found_inf || *role == Role::grad_norm))
    return op->emitError() << what << " #" << index << ": role '" << stringifyRole(*role)
                           << "' is only for results";
  return success();
}

LogicalResult AMPDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  return verifyRole(op, attr, "argument", argIndex, /*isResult=*/false);
}

LogicalResult AMPDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                      unsigned resultIndex,
                                                      NamedAttribute attr) {
  return verifyRole(op, attr, "result", resultIndex, /*isResult=*/true);
}

namespace ampc::amp {

std::optional<Role> getArgumentRole(FunctionOpInterface func, unsigned index) {
  auto attr = func.getArgAttrOfType<StringAttr>(index, AMPDialect::kRoleAttrName);
  return attr ? symbolizeRole(attr.getValue()) : std::nullopt;
}

std::optional<Role> getResultRole(FunctionOpInterface func, unsigned index) {
  auto attr = func.getResultAttrOfType<StringAttr>(index, AMPDialect::kRoleAttrName);
  return attr ? symbolizeRole(attr.getValue()) : std::nullopt;
}

FloatType getFloatType(MLIRContext *ctx, Precision precision) {
  switch (precision) {
  case Precision::f32:
    return Float32Type::get(ctx);
  case Precision::f16:
    return Float16Type::get(ctx);
  case Precision::bf16:
    return BFloat16Type::get(ctx);
  }
  llvm_unreachable("unknown precision");
}

std::optional<Precision> getPrecision(Type elementType) {
  if (elementType.isF32())
    return Precision::f32;
  if (elementType.isF16())
    return Precision::f16;
  if (elementType.isBF16())
    return Precision::bf16;
  return std::nullopt;
}

Type withElementType(Type type, Type elementType) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return shaped.clone(elementType);
  return elementType;
}

std::optional<Precision> getPinnedPrecision(Operation *op) {
  auto pin = op->getAttrOfType<StringAttr>(AMPDialect::kPrecisionAttrName);
  if (!pin)
    return std::nullopt;
  return parsePrecision(pin.getValue());
}

std::optional<Precision> getEffectivePrecision(Operation *op, Operation **source) {
  for (Operation *current = op; current; current = current->getParentOp()) {
    if (std::optional<Precision> pin = getPinnedPrecision(current)) {
      if (source)
        *source = current;
      return pin;
    }
    // Pins do not reach across modules.
    if (isa<ModuleOp>(current))
      break;
  }
  return std::nullopt;
}

std::optional<Precision> parsePrecision(StringRef name) {
  if (name == "fp32")
    return Precision::f32;
  if (name == "fp16")
    return Precision::f16;
  return symbolizePrecision(name);
}

} // namespace ampc::amp

LogicalResult ampc::amp::verifyResourcesPresent(Operation *root) {
  WalkResult result = root->walk([](Operation *op) {
    for (NamedAttribute attr : op->getAttrs()) {
      auto resource = dyn_cast<DenseResourceElementsAttr>(attr.getValue());
      if (!resource || resource.getRawHandle().getBlob())
        continue;
      op->emitError() << "the data of this " << resource.getType() << " (dense_resource<"
                      << resource.getRawHandle().getKey()
                      << ">) is not in the file: the exporter elided the model's weights. "
                         "Re-export the model with its weights (printed without "
                         "--mlir-elide-resource-strings-if-larger)";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}
