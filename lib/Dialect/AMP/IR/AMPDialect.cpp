//===- AMPDialect.cpp - the amp dialect -------------------------------------===//

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
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
  if (attr.getName() != kPrecisionAttrName)
    return op->emitError() << "unknown amp dialect attribute '"
                           << attr.getName().getValue() << "'";
  auto str = dyn_cast<StringAttr>(attr.getValue());
  if (!str)
    return op->emitError() << "'" << kPrecisionAttrName
                           << "' must be a string: \"f32\", \"f16\" or \"bf16\"";
  if (!symbolizePrecision(str.getValue()))
    return op->emitError() << "'" << kPrecisionAttrName << "' pins to unsupported type '"
                           << str.getValue()
                           << "'; expected \"f32\", \"f16\" or \"bf16\"";
  return success();
}

namespace ampc::amp {

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
  return symbolizePrecision(pin.getValue());
}

} // namespace ampc::amp
