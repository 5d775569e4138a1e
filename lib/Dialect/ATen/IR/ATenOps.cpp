//===- ATenOps.cpp - aten op verifiers and shape rules ----------------------===//
//
// The verifiers check what convert-aten-to-linalg relies on: static shapes,
// attribute ranges and that each result type is the shape ATen computes, so
// an importer mistake is an error at the op's (model source) location, not
// wrong code.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/ATen/IR/ATen.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::aten;

#define GET_OP_CLASSES
#include "ampc/Dialect/ATen/IR/ATenOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

std::optional<SmallVector<int64_t>> ampc::aten::broadcastShapes(ArrayRef<int64_t> a,
                                                                ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    shape[i] = x == 1 ? y : x;
  }
  return shape;
}

int64_t ampc::aten::poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t dilation, bool ceilMode) {
  int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  int64_t out = (span + (ceilMode ? stride - 1 : 0)) / stride + 1;
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

int64_t ampc::aten::convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t dilation, bool transposed, int64_t outputPadding) {
  if (transposed)
    return (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + outputPadding + 1;
  return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

std::optional<SmallVector<int64_t>>
ampc::aten::indexResultShape(ArrayRef<int64_t> self, ArrayRef<int64_t> indexedDims,
                             ArrayRef<SmallVector<int64_t>> indexShapes,
                             int64_t *broadcastPosition, SmallVector<int64_t> *broadcastShape) {
  if (indexedDims.empty() || indexedDims.size() != indexShapes.size())
    return std::nullopt;
  SmallVector<int64_t> indexShape = indexShapes.front();
  for (ArrayRef<int64_t> shape : indexShapes.drop_front()) {
    auto joined = broadcastShapes(indexShape, shape);
    if (!joined)
      return std::nullopt;
    indexShape = *joined;
  }
  bool adjacent = indexedDims.back() - indexedDims.front() + 1 ==
                  static_cast<int64_t>(indexedDims.size());
  int64_t position = adjacent ? indexedDims.front() : 0;
  SmallVector<int64_t> rest;
  for (int64_t d = 0; d < static_cast<int64_t>(self.size()); ++d)
    if (!llvm::is_contained(indexedDims, d))
      rest.push_back(self[d]);
  SmallVector<int64_t> result(rest.begin(), rest.begin() + position);
  llvm::append_range(result, indexShape);
  result.append(rest.begin() + position, rest.end());
  if (broadcastPosition)
    *broadcastPosition = position;
  if (broadcastShape)
    *broadcastShape = indexShape;
  return result;
}

//===----------------------------------------------------------------------===//
// Verifier helpers
//===----------------------------------------------------------------------===//

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

LogicalResult expectShape(Operation *op, Value result, ArrayRef<int64_t> expected) {
  if (shapeOf(result) != expected) {
    InFlightDiagnostic diag = op->emitOpError("result shape (");
    llvm::interleaveComma(shapeOf(result), diag);
    diag << ") is not the shape ATen computes (";
    llvm::interleaveComma(expected, diag);
    return diag << ")";
  }
  return success();
}

LogicalResult staticShapes(Operation *op) {
  for (Type type : llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()))
    if (auto tensor = dyn_cast<RankedTensorType>(type); tensor && !tensor.hasStaticShape())
      return op->emitOpError("needs static shapes, got ") << type;
  return success();
}

/// `dim` in [0, rank).
LogicalResult checkDim(Operation *op, int64_t dim, int64_t rank, StringRef what = "dim") {
  if (dim < 0 || dim >= rank)
    return op->emitOpError() << what << " " << dim << " is outside [0, " << rank << ")";
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"") << getApproximate() << "\"";
  return staticShapes(*this);
}

static LogicalResult verifyBroadcastingOp(Operation *op) {
  if (failed(staticShapes(op)))
    return failure();
  SmallVector<int64_t> shape;
  for (Value operand : op->getOperands()) {
    auto joined = aten::broadcastShapes(shape, shapeOf(operand));
    if (!joined)
      return op->emitOpError("operand shapes do not broadcast together");
    shape = *joined;
  }
  return expectShape(op, op->getResult(0), shape);
}

/// True division and pow compute in floating point (ATen's div of two
/// integer tensors is a float tensor).
static LogicalResult verifyFloatResult(Operation *op) {
  if (failed(verifyBroadcastingOp(op)))
    return failure();
  if (!isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())))
    return op->emitOpError("computes in floating point: its result must be a float tensor");
  return success();
}

LogicalResult DivOp::verify() { return verifyFloatResult(*this); }
LogicalResult PowTensorTensorOp::verify() { return verifyFloatResult(*this); }

// Each other binary op: broadcasting (comparisons give i1).
#define AMPC_ATEN_BINARY_VERIFIER(OP)                                                      \
  LogicalResult OP::verify() { return verifyBroadcastingOp(*this); }
AMPC_ATEN_BINARY_VERIFIER(AddOp)
AMPC_ATEN_BINARY_VERIFIER(SubOp)
AMPC_ATEN_BINARY_VERIFIER(MulOp)
AMPC_ATEN_BINARY_VERIFIER(MaximumOp)
AMPC_ATEN_BINARY_VERIFIER(MinimumOp)
AMPC_ATEN_BINARY_VERIFIER(EqOp)
AMPC_ATEN_BINARY_VERIFIER(NeOp)
AMPC_ATEN_BINARY_VERIFIER(LtOp)
AMPC_ATEN_BINARY_VERIFIER(LeOp)
AMPC_ATEN_BINARY_VERIFIER(GtOp)
AMPC_ATEN_BINARY_VERIFIER(GeOp)
AMPC_ATEN_BINARY_VERIFIER(LogicalAndOp)
AMPC_ATEN_BINARY_VERIFIER(LogicalOrOp)
AMPC_ATEN_BINARY_VERIFIER(WhereOp)
#undef AMPC_ATEN_BINARY_VERIFIER

LogicalResult MaskedFillOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  if (getValue().getType().getRank() != 0)
    return emitOpError("value must be a 0-d tensor, got ") << getValue().getType();
  auto joined = aten::broadcastShapes(shapeOf(getSelf()), shapeOf(getMask()));
  if (!joined || *joined != shapeOf(getSelf()))
    return emitOpError("mask must broadcast to the shape of self");
  return expectShape(*this, getResult(), shapeOf(getSelf()));
}

//===----------------------------------------------------------------------===//
// Matrix products, convolutions, embeddings
//===----------------------------------------------------------------------===//

static LogicalResult verifyProduct(Operation *op, Value lhs, Value rhs, unsigned rank,
                                   Value addend = {}) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> a = shapeOf(lhs), b = shapeOf(rhs);
  if (a.size() != rank || b.size() != rank)
    return op->emitOpError() << "needs " << rank << "-D operands";
  if (a[rank - 1] != b[rank - 2])
    return op->emitOpError("contracted sizes differ: ") << a[rank - 1] << " and " << b[rank - 2];
  if (rank == 3 && a[0] != b[0])
    return op->emitOpError("batch sizes differ: ") << a[0] << " and " << b[0];
  SmallVector<int64_t> shape(a.drop_back());
  shape.push_back(b[rank - 1]);
  if (addend) {
    auto joined = aten::broadcastShapes(shapeOf(addend), shape);
    if (!joined || *joined != ArrayRef<int64_t>(shape))
      return op->emitOpError("the added tensor must broadcast to the product's shape");
  }
  return expectShape(op, op->getResult(0), shape);
}

LogicalResult MmOp::verify() { return verifyProduct(*this, getSelf(), getMat2(), 2); }
LogicalResult AddmmOp::verify() { return verifyProduct(*this, getMat1(), getMat2(), 2, getSelf()); }
LogicalResult BmmOp::verify() { return verifyProduct(*this, getSelf(), getMat2(), 3); }
LogicalResult BaddbmmOp::verify() {
  return verifyProduct(*this, getBatch1(), getBatch2(), 3, getSelf());
}

LogicalResult ConvolutionOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput()), w = shapeOf(getWeight());
  size_t spatial = x.size() - 2;
  if ((x.size() != 3 && x.size() != 4) || w.size() != x.size())
    return emitOpError("needs (N, C, L) or (N, C, H, W) inputs and a weight of the same rank");
  auto sized = [&](ArrayRef<int64_t> values, StringRef name) -> LogicalResult {
    if (values.size() != spatial)
      return emitOpError() << name << " needs " << spatial << " entries, got " << values.size();
    return success();
  };
  ArrayRef<int64_t> outputPadding = getOutputPadding() ? *getOutputPadding() : ArrayRef<int64_t>();
  SmallVector<int64_t> noPadding(spatial, 0);
  if (outputPadding.empty())
    outputPadding = noPadding;
  if (failed(sized(getStride(), "stride")) || failed(sized(getPadding(), "padding")) ||
      failed(sized(getDilation(), "dilation")) || failed(sized(outputPadding, "output_padding")))
    return failure();
  int64_t groups = getGroups();
  if (groups < 1)
    return emitOpError("groups must be positive");
  for (size_t i = 0; i < spatial; ++i)
    if (getStride()[i] < 1 || getDilation()[i] < 1 || getPadding()[i] < 0)
      return emitOpError("needs stride and dilation >= 1 and padding >= 0");
  bool transposed = getTransposed();
  int64_t channels = transposed ? w[0] : w[1] * groups;
  int64_t features = transposed ? w[1] * groups : w[0];
  if (x[1] != channels || w[0] % groups != 0)
    return emitOpError("input channels (") << x[1] << ") do not match the weight " << "(" << w[0]
                                           << "x" << w[1] << ", groups " << groups << ")";
  if (getBias() && shapeOf(getBias()) != ArrayRef<int64_t>{features})
    return emitOpError("bias must have ") << features << " elements";
  SmallVector<int64_t> shape = {x[0], features};
  for (size_t i = 0; i < spatial; ++i)
    shape.push_back(convOutputSize(x[2 + i], w[2 + i], getStride()[i], getPadding()[i],
                                   getDilation()[i], transposed, outputPadding[i]));
  return expectShape(*this, getResult(), shape);
}

LogicalResult EmbeddingOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> w = shapeOf(getWeight());
  if (w.size() != 2)
    return emitOpError("needs a 2-D weight");
  if (getPaddingIdx() >= w[0])
    return emitOpError("padding_idx ") << getPaddingIdx() << " is not a row of the weight";
  SmallVector<int64_t> shape(shapeOf(getIndices()));
  shape.push_back(w[1]);
  return expectShape(*this, getResult(), shape);
}

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

LogicalResult NativeBatchNormOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput());
  if (x.size() < 2)
    return emitOpError("needs an (N, C, ...) input");
  int64_t channels = x[1];
  for (Value v : {getWeight(), getBias(), getRunningMean(), getRunningVar()})
    if (v && shapeOf(v) != ArrayRef<int64_t>{channels})
      return emitOpError("weight, bias and running statistics need ") << channels << " elements";
  if (!getTraining() && !getRunningMean())
    return emitOpError("eval mode needs running statistics");
  int64_t running = getRunningMean() ? channels : 0;
  if (static_cast<bool>(getRunningMean()) != static_cast<bool>(getRunningVar()))
    return emitOpError("needs both running statistics or neither");
  if (failed(expectShape(*this, getRunningMeanOut(), {running})) ||
      failed(expectShape(*this, getRunningVarOut(), {running})))
    return failure();
  int64_t saved = getTraining() ? channels : 0;
  if (failed(expectShape(*this, getSaveMean(), {saved})) ||
      failed(expectShape(*this, getSaveInvstd(), {saved})))
    return failure();
  return expectShape(*this, getOutput(), x);
}

LogicalResult NativeLayerNormOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput()), normalized = getNormalizedShape();
  if (normalized.empty() || normalized.size() > x.size() ||
      x.take_back(normalized.size()) != normalized)
    return emitOpError("normalized_shape must be the input's trailing shape");
  for (Value v : {getWeight(), getBias()})
    if (v && shapeOf(v) != normalized)
      return emitOpError("weight and bias must have the normalized shape");
  SmallVector<int64_t> stats(x.drop_back(normalized.size()));
  stats.append(normalized.size(), 1);
  if (failed(expectShape(*this, getMean(), stats)) || failed(expectShape(*this, getRstd(), stats)))
    return failure();
  return expectShape(*this, getOutput(), x);
}

LogicalResult NativeGroupNormOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput());
  if (x.size() < 2)
    return emitOpError("needs an (N, C, ...) input");
  if (getGroup() < 1 || x[1] % getGroup() != 0)
    return emitOpError("channels (") << x[1] << ") must divide into " << getGroup() << " groups";
  for (Value v : {getWeight(), getBias()})
    if (v && shapeOf(v) != ArrayRef<int64_t>{x[1]})
      return emitOpError("weight and bias need ") << x[1] << " elements";
  if (failed(expectShape(*this, getMean(), {x[0], getGroup()})) ||
      failed(expectShape(*this, getRstd(), {x[0], getGroup()})))
    return failure();
  return expectShape(*this, getOutput(), x);
}

LogicalResult SoftmaxOp::verify() {
  return checkDim(*this, getDim(), getSelf().getType().getRank());
}
LogicalResult LogSoftmaxOp::verify() {
  return checkDim(*this, getDim(), getSelf().getType().getRank());
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult verifyReduction(Operation *op, Value self, ArrayRef<int64_t> dims,
                                     bool keepdim) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(self);
  for (int64_t d : dims)
    if (failed(checkDim(op, d, x.size())))
      return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < static_cast<int64_t>(x.size()); ++d) {
    bool reduced = dims.empty() || llvm::is_contained(dims, d);
    if (!reduced)
      shape.push_back(x[d]);
    else if (keepdim)
      shape.push_back(1);
  }
  return expectShape(op, op->getResult(0), shape);
}

#define AMPC_ATEN_REDUCTION_VERIFIER(OP)                                                   \
  LogicalResult OP::verify() { return verifyReduction(*this, getSelf(), getDim(), getKeepdim()); }
AMPC_ATEN_REDUCTION_VERIFIER(SumOp)
AMPC_ATEN_REDUCTION_VERIFIER(MeanOp)
AMPC_ATEN_REDUCTION_VERIFIER(AmaxOp)
AMPC_ATEN_REDUCTION_VERIFIER(AminOp)
AMPC_ATEN_REDUCTION_VERIFIER(VarOp)
#undef AMPC_ATEN_REDUCTION_VERIFIER

//===----------------------------------------------------------------------===//
// Pooling and resampling
//===----------------------------------------------------------------------===//

static LogicalResult verifyPool(Operation *op, Value self, ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
                                ArrayRef<int64_t> dilation, bool ceilMode) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(self);
  if (x.size() != 4)
    return op->emitOpError("needs an (N, C, H, W) input");
  for (ArrayRef<int64_t> values : {kernel, stride, padding, dilation})
    if (values.size() != 2)
      return op->emitOpError("kernel_size, stride, padding and dilation need 2 entries each");
  SmallVector<int64_t> shape = {x[0], x[1]};
  for (unsigned i = 0; i < 2; ++i) {
    if (kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1 || padding[i] < 0)
      return op->emitOpError("needs kernel, stride, dilation >= 1 and padding >= 0");
    if (2 * padding[i] > kernel[i])
      return op->emitOpError("padding must be at most half the kernel size");
    shape.push_back(aten::poolOutputSize(x[2 + i], kernel[i], stride[i], padding[i], dilation[i],
                                         ceilMode));
  }
  return expectShape(op, op->getResult(0), shape);
}

LogicalResult MaxPool2dOp::verify() {
  return verifyPool(*this, getSelf(), getKernelSize(), getStride(), getPadding(), getDilation(),
                    getCeilMode());
}

LogicalResult AvgPool2dOp::verify() {
  if (getDivisorOverride() && *getDivisorOverride() <= 0)
    return emitOpError("divisor_override must be positive");
  SmallVector<int64_t> ones = {1, 1};
  return verifyPool(*this, getSelf(), getKernelSize(), getStride(), getPadding(), ones,
                    getCeilMode());
}

static LogicalResult verifyResize(Operation *op, Value self, Value result) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(self), y = shapeOf(result);
  if (x.size() != 4 || y.size() != 4 || x[0] != y[0] || x[1] != y[1])
    return op->emitOpError("needs (N, C, H, W) input and result with the same N and C");
  if (llvm::is_contained(y, 0) || llvm::is_contained(x, 0))
    return op->emitOpError("needs non-empty input and result");
  return success();
}

LogicalResult AdaptiveAvgPool2dOp::verify() { return verifyResize(*this, getSelf(), getResult()); }
LogicalResult UpsampleNearest2dOp::verify() { return verifyResize(*this, getSelf(), getResult()); }
LogicalResult UpsampleBilinear2dOp::verify() {
  return verifyResize(*this, getSelf(), getResult());
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

LogicalResult ViewOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  if (getSelf().getType().getElementType() != getResult().getType().getElementType())
    return emitOpError("keeps the element type");
  if (getSelf().getType().getNumElements() != getResult().getType().getNumElements())
    return emitOpError("changes the number of elements");
  return success();
}

LogicalResult PermuteOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getSelf());
  if (!isPermutationVector(getDims()) || getDims().size() != x.size())
    return emitOpError("dims must be a permutation of the ") << x.size() << " dimensions";
  SmallVector<int64_t> shape;
  for (int64_t d : getDims())
    shape.push_back(x[d]);
  return expectShape(*this, getResult(), shape);
}

LogicalResult ExpandOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  auto joined = aten::broadcastShapes(shapeOf(getSelf()), shapeOf(getResult()));
  if (!joined || *joined != shapeOf(getResult()))
    return emitOpError("self does not broadcast to the result shape");
  return success();
}

/// The shape of slice(dim, start, end, step) of `self`, or failure (with an
/// error) for bounds ATen would not have produced.
static FailureOr<SmallVector<int64_t>> sliceShape(Operation *op, Value self, int64_t dim,
                                                  int64_t start, int64_t end, int64_t step) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(self);
  if (failed(checkDim(op, dim, x.size())))
    return failure();
  if (step < 1 || start < 0 || start > end || end > x[dim])
    return op->emitOpError("needs 0 <= start <= end <= size and step >= 1");
  SmallVector<int64_t> shape(x);
  shape[dim] = (end - start + step - 1) / step;
  return shape;
}

/// The shape of select(dim, index) of `self`, or failure (with an error).
static FailureOr<SmallVector<int64_t>> selectShape(Operation *op, Value self, int64_t dim,
                                                   int64_t index) {
  if (failed(staticShapes(op)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(self);
  if (failed(checkDim(op, dim, x.size())) || failed(checkDim(op, index, x[dim], "index")))
    return failure();
  SmallVector<int64_t> shape(x);
  shape.erase(shape.begin() + dim);
  return shape;
}

LogicalResult SliceOp::verify() {
  auto shape = sliceShape(*this, getSelf(), getDim(), getStart(), getEnd(), getStep());
  return failed(shape) ? failure() : expectShape(*this, getResult(), *shape);
}

LogicalResult SelectOp::verify() {
  auto shape = selectShape(*this, getSelf(), getDim(), getIndex());
  return failed(shape) ? failure() : expectShape(*this, getResult(), *shape);
}

LogicalResult SliceScatterOp::verify() {
  auto shape = sliceShape(*this, getSelf(), getDim(), getStart(), getEnd(), getStep());
  if (failed(shape))
    return failure();
  if (shapeOf(getSrc()) != ArrayRef<int64_t>(*shape))
    return emitOpError("src must have the slice's shape");
  return expectShape(*this, getResult(), shapeOf(getSelf()));
}

LogicalResult SelectScatterOp::verify() {
  auto shape = selectShape(*this, getSelf(), getDim(), getIndex());
  if (failed(shape))
    return failure();
  if (shapeOf(getSrc()) != ArrayRef<int64_t>(*shape))
    return emitOpError("src must have the selected slice's shape");
  return expectShape(*this, getResult(), shapeOf(getSelf()));
}

static LogicalResult verifyJoin(Operation *op, ValueRange tensors, int64_t dim, bool stacked) {
  if (failed(staticShapes(op)))
    return failure();
  if (tensors.empty())
    return op->emitOpError("needs at least one tensor");
  ArrayRef<int64_t> first = shapeOf(tensors.front());
  int64_t rank = first.size() + (stacked ? 1 : 0);
  if (failed(checkDim(op, dim, rank)))
    return failure();
  SmallVector<int64_t> shape(first);
  if (stacked)
    shape.insert(shape.begin() + dim, tensors.size());
  else
    shape[dim] = 0;
  for (Value t : tensors) {
    ArrayRef<int64_t> s = shapeOf(t);
    if (s.size() != first.size())
      return op->emitOpError("needs tensors of one rank");
    for (size_t d = 0; d < s.size(); ++d)
      if ((stacked || static_cast<int64_t>(d) != dim) && s[d] != first[d])
        return op->emitOpError("tensor sizes differ outside the joined dimension");
    if (!stacked)
      shape[dim] += s[dim];
  }
  return expectShape(op, op->getResult(0), shape);
}

LogicalResult CatOp::verify() { return verifyJoin(*this, getTensors(), getDim(), false); }
LogicalResult StackOp::verify() { return verifyJoin(*this, getTensors(), getDim(), true); }

LogicalResult SplitOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getSelf());
  if (failed(checkDim(*this, getDim(), x.size())))
    return failure();
  int64_t total = 0;
  for (Value r : getResults()) {
    SmallVector<int64_t> expected(x);
    expected[getDim()] = shapeOf(r).size() == x.size() ? shapeOf(r)[getDim()] : -1;
    if (shapeOf(r) != ArrayRef<int64_t>(expected))
      return emitOpError("pieces must match self outside dim");
    total += expected[getDim()];
  }
  if (total != x[getDim()])
    return emitOpError("pieces add up to ") << total << ", not " << x[getDim()];
  return success();
}

LogicalResult UnbindOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getSelf());
  if (failed(checkDim(*this, getDim(), x.size())))
    return failure();
  if (static_cast<int64_t>(getResults().size()) != x[getDim()])
    return emitOpError("needs one result per slice (") << x[getDim()] << ")";
  SmallVector<int64_t> shape(x);
  shape.erase(shape.begin() + getDim());
  for (Value r : getResults())
    if (failed(expectShape(*this, r, shape)))
      return failure();
  return success();
}

LogicalResult ConstantPadNdOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getSelf()), pad = getPad();
  if (pad.size() % 2 || pad.size() > 2 * x.size())
    return emitOpError("pad needs (before, after) pairs for at most every dimension");
  SmallVector<int64_t> shape(x);
  for (size_t i = 0; i < pad.size() / 2; ++i)
    shape[x.size() - 1 - i] += pad[2 * i] + pad[2 * i + 1];
  if (llvm::any_of(shape, [](int64_t s) { return s < 0; }))
    return emitOpError("crops more than a dimension holds");
  return expectShape(*this, getResult(), shape);
}

LogicalResult RollOp::verify() {
  if (getShifts().size() != getDims().size() || getDims().empty())
    return emitOpError("needs one shift per dim");
  for (int64_t d : getDims())
    if (failed(checkDim(*this, d, getSelf().getType().getRank())))
      return failure();
  return staticShapes(*this);
}

LogicalResult FlipOp::verify() {
  for (int64_t d : getDims())
    if (failed(checkDim(*this, d, getSelf().getType().getRank())))
      return failure();
  return staticShapes(*this);
}

LogicalResult IndexOp::verify() {
  if (failed(staticShapes(*this)))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getSelf()), dims = getIndexedDims();
  for (auto [i, d] : llvm::enumerate(dims))
    if (d < 0 || d >= static_cast<int64_t>(x.size()) || (i > 0 && dims[i - 1] >= d))
      return emitOpError("indexed_dims must be ascending dimensions of self");
  SmallVector<SmallVector<int64_t>> shapes;
  for (Value index : getIndices())
    shapes.emplace_back(shapeOf(index));
  auto shape = aten::indexResultShape(x, dims, shapes);
  if (!shape)
    return emitOpError("needs one index tensor per indexed dim, broadcasting together");
  return expectShape(*this, getResult(), *shape);
}

//===----------------------------------------------------------------------===//
// Randomness
//===----------------------------------------------------------------------===//

static LogicalResult verifyRandom(Operation *op, Value rng, int64_t stream) {
  if (cast<RankedTensorType>(rng.getType()).getDimSize(0) != 2)
    return op->emitOpError("needs the random state as tensor<2xi64> (seed, offset)");
  if (stream < 0 || stream > 0xFFFFFFFFll)
    return op->emitOpError("stream ") << stream << " is not a 32-bit unsigned number";
  return staticShapes(op);
}

LogicalResult BernoulliOp::verify() {
  double p = getP().convertToDouble();
  if (!(p >= 0.0 && p <= 1.0))
    return emitOpError("p must be in [0, 1], got ") << p;
  return verifyRandom(*this, getRng(), getStream());
}

LogicalResult RandOp::verify() { return verifyRandom(*this, getRng(), getStream()); }
