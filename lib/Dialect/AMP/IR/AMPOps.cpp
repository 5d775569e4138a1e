//===- AMPOps.cpp - amp dialect operations ----------------------------------===//

#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/Format.h"

#include <limits>

using namespace mlir;
using namespace ampc::amp;

#define GET_OP_CLASSES
#include "ampc/Dialect/AMP/IR/AMPOps.cpp.inc"

bool CastOp::isExactConversion(Type from, Type to) {
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (!fromFloat || !toFloat)
    return false;
  return fromFloat == toFloat ||
         llvm::APFloat::isRepresentableBy(fromFloat.getFloatSemantics(),
                                          toFloat.getFloatSemantics());
}

bool CastOp::areCastCompatible(TypeRange inputs, TypeRange outputs) {
  if (inputs.size() != 1 || outputs.size() != 1)
    return false;
  Type in = inputs.front(), out = outputs.front();
  if (isa<ShapedType>(in) != isa<ShapedType>(out))
    return false;
  if (auto inShaped = dyn_cast<ShapedType>(in))
    if (inShaped.getShape() != cast<ShapedType>(out).getShape())
      return false;
  Type inElt = getElementTypeOrSelf(in), outElt = getElementTypeOrSelf(out);
  // Same-type casts are rejected by the verifier, with a clearer message.
  return getPrecision(inElt) && getPrecision(outElt);
}

LogicalResult CastOp::verify() {
  Type inElt = getElementTypeOrSelf(getInput().getType());
  Type outElt = getElementTypeOrSelf(getResult().getType());
  if (inElt == outElt)
    return emitOpError("casts ") << inElt << " to itself; an amp.cast must "
                                 << "change the element type";
  return success();
}

/// Converts every element of a float constant to `elementType`, rounding to
/// nearest even as the cast does at run time.
static Attribute convertFloatConstant(Attribute value, FloatType elementType,
                                      Type resultType) {
  const llvm::fltSemantics &sem = elementType.getFloatSemantics();
  auto convert = [&](APFloat v) {
    bool losesInfo = false;
    v.convert(sem, APFloat::rmNearestTiesToEven, &losesInfo);
    return v;
  };
  if (auto scalar = dyn_cast<FloatAttr>(value))
    return FloatAttr::get(elementType, convert(scalar.getValue()));
  auto dense = dyn_cast<DenseFPElementsAttr>(value);
  if (!dense)
    return {};
  auto shaped = cast<ShapedType>(resultType);
  if (dense.isSplat())
    return DenseElementsAttr::get(shaped, convert(dense.getSplatValue<APFloat>()));
  SmallVector<APFloat> converted;
  converted.reserve(dense.getNumElements());
  for (APFloat v : dense.getValues<APFloat>())
    converted.push_back(convert(v));
  return DenseElementsAttr::get(shaped, converted);
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  Type resultType = getResult().getType();
  auto resultElt = cast<FloatType>(getElementTypeOrSelf(resultType));
  if (Attribute input = adaptor.getInput())
    return convertFloatConstant(input, resultElt, resultType);

  // cast(cast(x : A -> B) : B -> A) is x when A -> B was exact.
  if (auto producer = getInput().getDefiningOp<CastOp>()) {
    Value source = producer.getInput();
    if (source.getType() == resultType &&
        isExactConversion(getElementTypeOrSelf(source.getType()),
                          getElementTypeOrSelf(producer.getType())))
      return source;
  }
  return {};
}

namespace {
/// cast(cast(x : A -> B) : B -> C), with A -> B exact, becomes cast(x : A -> C).
/// (A == C is the folder's job.)
struct ComposeAfterExactWidening : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<CastOp>();
    if (!producer)
      return failure();
    Value source = producer.getInput();
    Type sourceElt = getElementTypeOrSelf(source.getType());
    if (sourceElt == getElementTypeOrSelf(op.getType()) ||
        !CastOp::isExactConversion(sourceElt,
                                   getElementTypeOrSelf(producer.getType())))
      return failure();
    rewriter.replaceOpWithNewOp<CastOp>(op, op.getType(), source);
    return success();
  }
};

/// A cast of `tensor.empty` (whose contents are undefined) is a `tensor.empty`
/// of the new type.
struct RetypeEmptyTensor : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    auto empty = op.getInput().getDefiningOp<tensor::EmptyOp>();
    if (!empty)
      return failure();
    rewriter.replaceOpWithNewOp<tensor::EmptyOp>(
        op, cast<RankedTensorType>(op.getType()), empty.getDynamicSizes());
    return success();
  }
};
} // namespace

void CastOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<ComposeAfterExactWidening, RetypeEmptyTensor>(context);
}

//===----------------------------------------------------------------------===//
// Optimizers
//===----------------------------------------------------------------------===//

/// The argument checks torch.optim makes in its constructors.
static LogicalResult verifyHyperparameter(Operation *op, StringRef name,
                                          double value, double low,
                                          bool lowInclusive, double high) {
  bool ok = (lowInclusive ? value >= low : value > low) && value < high;
  if (ok)
    return success();
  std::string message;
  llvm::raw_string_ostream os(message);
  os << "invalid " << name << " " << llvm::format("%g", value) << ": expected a value in "
     << (lowInclusive ? "[" : "(") << llvm::format("%g", low) << ", "
     << llvm::format("%g", high) << ")";
  return op->emitOpError() << message;
}

LogicalResult SGDOp::verify() {
  double inf = std::numeric_limits<double>::infinity();
  if (failed(verifyHyperparameter(*this, "lr", getLr().convertToDouble(), 0, true, inf)) ||
      failed(verifyHyperparameter(*this, "momentum", getMomentum().convertToDouble(), 0, true, inf)) ||
      failed(verifyHyperparameter(*this, "weight_decay", getWeightDecay().convertToDouble(), 0, true, inf)))
    return failure();
  if (getGrad().getType() != getParam().getType() ||
      getNewParam().getType() != getParam().getType())
    return emitOpError("param, grad and new_param must have the same type");
  bool hasMomentum = !getMomentum().isZero();
  if (getMomentumInput() && !hasMomentum)
    return emitOpError("a run-time momentum needs momentum > 0 when the op is built (without "
                       "it there is no momentum buffer to weight)");
  if (getNesterov() && (!hasMomentum || !getDampening().isZero()))
    return emitOpError("nesterov momentum requires a momentum and zero dampening");
  if (!hasMomentum) {
    if (!getState().empty() || !getNewState().empty())
      return emitOpError("takes no optimizer state without momentum");
    return success();
  }
  if (getState().size() != 2)
    return emitOpError("with momentum takes state(momentum_buffer, step): ")
           << getState().size() << " operands given";
  if (getState()[0].getType() != getParam().getType())
    return emitOpError("momentum buffer type ")
           << getState()[0].getType() << " differs from the param type "
           << getParam().getType();
  auto step = dyn_cast<RankedTensorType>(getState()[1].getType());
  if (!step || step.getRank() != 0 || !step.getElementType().isInteger(64))
    return emitOpError("step counter must be tensor<i64>, got ")
           << getState()[1].getType();
  if (getNewState().getTypes() != getState().getTypes())
    return emitOpError("new state types must match the state types");
  return success();
}

template <typename AdamOp>
static LogicalResult verifyAdam(AdamOp op) {
  double inf = std::numeric_limits<double>::infinity();
  if (failed(verifyHyperparameter(op, "lr", op.getLr().convertToDouble(), 0, true, inf)) ||
      failed(verifyHyperparameter(op, "eps", op.getEps().convertToDouble(), 0, true, inf)) ||
      failed(verifyHyperparameter(op, "beta1", op.getBeta1().convertToDouble(), 0, true, 1)) ||
      failed(verifyHyperparameter(op, "beta2", op.getBeta2().convertToDouble(), 0, true, 1)) ||
      failed(verifyHyperparameter(op, "weight_decay", op.getWeightDecay().convertToDouble(), 0, true, inf)))
    return failure();
  return success();
}

LogicalResult AdamOp::verify() { return verifyAdam(*this); }
LogicalResult AdamWOp::verify() { return verifyAdam(*this); }

//===----------------------------------------------------------------------===//
// Loss scaling
//===----------------------------------------------------------------------===//

LogicalResult ClipGradNormOp::verify() {
  double inf = std::numeric_limits<double>::infinity();
  double maxNorm = getMaxNorm().convertToDouble();
  if (!(maxNorm > 0) || maxNorm == inf)
    return emitOpError("max_norm must be finite and > 0, got ") << maxNorm;
  double p = getNormType().convertToDouble();
  if (p != 1.0 && p != 2.0 && p != inf)
    return emitOpError("norm_type must be 1, 2 or inf, got ") << p;
  if (getGrads().empty())
    return emitOpError("takes at least one gradient");
  if (getClipped().getTypes() != getGrads().getTypes())
    return emitOpError("clipped gradients must have the gradients' types");
  return success();
}

LogicalResult ClipGradValueOp::verify() {
  double value = getClipValue().convertToDouble();
  if (!(value > 0) || value == std::numeric_limits<double>::infinity())
    return emitOpError("clip_value must be finite and > 0, got ") << value;
  return success();
}

LogicalResult AllFiniteOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  Type element = cast<RankedTensorType>(getInputs().front().getType()).getElementType();
  for (Value input : getInputs())
    if (cast<RankedTensorType>(input.getType()).getElementType() != element)
      return emitOpError("needs one element type for the whole bucket, got ")
             << element << " and " << input.getType();
  for (Value input : getInputs())
    if (!cast<RankedTensorType>(input.getType()).hasStaticShape())
      return emitOpError("needs statically shaped inputs (the bucket's size is fixed), got ")
             << input.getType();
  return success();
}

LogicalResult UpdateScaleOp::verify() {
  double growth = getGrowthFactor().convertToDouble();
  double backoff = getBackoffFactor().convertToDouble();
  if (!(growth > 1.0))
    return emitOpError("growth_factor must be greater than 1");
  if (!(backoff > 0.0 && backoff < 1.0))
    return emitOpError("backoff_factor must be in (0, 1)");
  if (getGrowthInterval() <= 0)
    return emitOpError("growth_interval must be positive");
  double lo = getMinScale().convertToDouble(), hi = getMaxScale().convertToDouble();
  if (lo < 0 || !(lo <= hi))
    return emitOpError("needs 0 <= min_scale <= max_scale");
  return success();
}

LogicalResult RandomUniformOp::verify() {
  if (getRng().getType().getDimSize(0) != 2)
    return emitOpError("needs the random state as tensor<2xi64> (seed, offset), got ")
           << getRng().getType();
  // I64Attr reads as unsigned: a negative stream is a large number here.
  auto stream = static_cast<int64_t>(getStream());
  if (stream < 0 || stream > 0xFFFFFFFFll)
    return emitOpError("stream ") << stream << " is not a 32-bit unsigned number";
  auto type = getResult().getType();
  if (!type.hasStaticShape())
    return emitOpError("needs a static result shape, got ") << type;
  // Element numbers are one 32-bit counter word.
  if (type.getNumElements() > 0xFFFFFFFFll)
    return emitOpError("draws ") << type.getNumElements()
                                  << " numbers; one op draws at most 2^32 - 1";
  return success();
}
