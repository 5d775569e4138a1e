//===- Autodiff.cpp - reverse-mode adjoints of linalg and tensor ops -------===//
//
// One rule covers every linalg structured op: the adjoint of an operand is a
// linalg.generic over the op's own iteration space whose output is indexed
// like that operand, so dimensions the operand does not use become
// reductions (a broadcast's adjoint sums, a matmul's adjoint contracts). Its
// payload is the forward payload, cloned, with the derivative of the yielded
// value carried alongside (forward mode inside one scalar payload), times
// the result's adjoint. Reductions are recognised by how the yield combines
// the accumulator: a sum passes the adjoint through, a max/min sends it to
// the elements equal to the result. Convolution inputs, read through
// `o * stride + k * dilation`, get the transposed convolution: the result's
// adjoint is dilated by the stride and padded, the kernel flipped.
//
//===----------------------------------------------------------------------===//

#include "ampc/Autodiff/Autodiff.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"


using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Small IR builders
//===----------------------------------------------------------------------===//

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLn10 = 2.30258509299404568402;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;

std::string toString(AffineExpr expr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  expr.print(os);
  return text;
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value zerosOf(OpBuilder &b, Location loc, RankedTensorType type) {
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value zero = floatConstant(b, loc, type.getElementType(), 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// An elementwise linalg.generic over tensors of `type`.
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs, RankedTensorType type,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<AffineMap> maps(inputs.size() + 1, identity);
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               linalg::YieldOp::create(nested, nestedLoc,
                                       body(nested, nestedLoc, args.drop_back()));
             })
      .getResult(0);
}

Value addTensors(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return elementwise(b, loc, {lhs, rhs}, cast<RankedTensorType>(lhs.getType()),
                     [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                       return arith::AddFOp::create(nb, l, args[0], args[1]);
                     });
}

/// `value` with the dimensions in `dims` reversed (x[k] -> x[K-1-k]).
Value reverseDims(OpBuilder &b, Location loc, Value value, ArrayRef<unsigned> dims) {
  auto type = cast<RankedTensorType>(value.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> reads;
  for (unsigned d = 0; d < type.getRank(); ++d) {
    AffineExpr dim = getAffineDimExpr(d, ctx);
    reads.push_back(llvm::is_contained(dims, d) ? getAffineConstantExpr(type.getDimSize(d) - 1, ctx) - dim
                                                : dim);
  }
  SmallVector<AffineMap> maps = {AffineMap::get(type.getRank(), 0, reads, ctx),
                                 b.getMultiDimIdentityMap(type.getRank())};
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{value}, ValueRange{init},
                                   maps, iterators,
                                   [](OpBuilder &nb, Location l, ValueRange args) {
                                     linalg::YieldOp::create(nb, l, args[0]);
                                   })
      .getResult(0);
}

/// One dimension of a tensor spread out for a transposed convolution:
/// element i lands at `offset + i * stride` of a zero tensor of `size`.
struct Spread {
  unsigned dim;
  int64_t size, offset, stride;
};

Value spreadOut(OpBuilder &b, Location loc, Value value, ArrayRef<Spread> spreads) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes;
  for (int64_t size : type.getShape())
    sizes.push_back(b.getIndexAttr(size));
  for (const Spread &spread : spreads) {
    shape[spread.dim] = spread.size;
    offsets[spread.dim] = b.getIndexAttr(spread.offset);
    strides[spread.dim] = b.getIndexAttr(spread.stride);
  }
  Value zeros = zerosOf(b, loc, RankedTensorType::get(shape, type.getElementType()));
  return tensor::InsertSliceOp::create(b, loc, value, zeros, offsets, sizes, strides);
}

//===----------------------------------------------------------------------===//
// Derivatives of scalar payload ops (forward mode)
//===----------------------------------------------------------------------===//

/// d(result)/d(source) of `op` (already cloned into the adjoint's payload)
/// from the derivatives of its operands (null: zero). A null result is a zero
/// derivative; failure means the op has no rule.
FailureOr<Value> derivativeOf(OpBuilder &b, Operation *op, ArrayRef<Value> d) {
  Location loc = op->getLoc();
  if (llvm::all_of(d, [](Value v) { return !v; }))
    return Value();
  if (isa<arith::CmpFOp, arith::CmpIOp, arith::FPToSIOp, arith::FPToUIOp>(op))
    return Value(); // Not differentiable in their float operands: zero almost everywhere.
  if (op->getNumResults() != 1)
    return failure();
  Value r = op->getResult(0);
  Type type = r.getType();
  auto c = [&](double v) { return floatConstant(b, loc, type, v); };
  auto mul = [&](Value x, Value y) -> Value { return arith::MulFOp::create(b, loc, x, y); };
  auto div = [&](Value x, Value y) -> Value { return arith::DivFOp::create(b, loc, x, y); };
  auto add = [&](Value x, Value y) -> Value {
    if (!x || !y)
      return x ? x : y;
    return arith::AddFOp::create(b, loc, x, y);
  };
  auto neg = [&](Value x) -> Value { return x ? arith::NegFOp::create(b, loc, x) : Value(); };
  auto orZero = [&](Value x) { return x ? x : c(0.0); };
  auto operand = [&](unsigned i) { return op->getOperand(i); };
  Value d0 = d.size() > 0 ? d[0] : Value();
  Value d1 = d.size() > 1 ? d[1] : Value();
  // Scales the first operand's derivative: d0 * f'(x).
  auto chain = [&](Value factor) -> Value { return d0 ? mul(d0, factor) : Value(); };

  return llvm::TypeSwitch<Operation *, FailureOr<Value>>(op)
      .Case([&](arith::AddFOp) -> Value { return add(d0, d1); })
      .Case([&](arith::SubFOp) -> Value { return add(d0, neg(d1)); })
      .Case([&](arith::NegFOp) -> Value { return neg(d0); })
      .Case([&](arith::MulFOp) -> Value {
        return add(d0 ? mul(d0, operand(1)) : Value(), d1 ? mul(operand(0), d1) : Value());
      })
      .Case([&](arith::DivFOp) -> Value { // (d0 - r * d1) / b
        return div(orZero(add(d0, d1 ? neg(mul(r, d1)) : Value())), operand(1));
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp, arith::MinNumFOp>(
          [&](Operation *) -> Value {
            bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(op);
            Value first = arith::CmpFOp::create(
                b, loc, isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
                operand(0), operand(1));
            return arith::SelectOp::create(b, loc, first, orZero(d0), orZero(d1));
          })
      .Case([&](arith::SelectOp select) -> Value {
        Value t = d.size() > 1 ? d[1] : Value(), f = d.size() > 2 ? d[2] : Value();
        if (!t && !f)
          return Value();
        return arith::SelectOp::create(b, loc, select.getCondition(), orZero(t), orZero(f));
      })
      .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *) -> Value {
        if (isa<arith::ExtFOp>(op))
          return arith::ExtFOp::create(b, loc, type, d0);
        return arith::TruncFOp::create(b, loc, type, d0);
      })
      .Case([&](math::ExpOp) { return chain(r); })
      .Case([&](math::Exp2Op) { return chain(mul(r, c(kLn2))); })
      .Case([&](math::ExpM1Op) { return chain(add(r, c(1.0))); })
      .Case([&](math::LogOp) -> Value { return d0 ? div(d0, operand(0)) : Value(); })
      .Case([&](math::Log2Op) { return chain(div(c(1.0 / kLn2), operand(0))); })
      .Case([&](math::Log10Op) { return chain(div(c(1.0 / kLn10), operand(0))); })
      .Case([&](math::Log1pOp) -> Value {
        return d0 ? div(d0, add(operand(0), c(1.0))) : Value();
      })
      .Case([&](math::TanhOp) { return chain(arith::SubFOp::create(b, loc, c(1.0), mul(r, r))); })
      .Case([&](math::SqrtOp) { return chain(div(c(0.5), r)); })
      .Case([&](math::RsqrtOp) { return chain(mul(c(-0.5), div(r, operand(0)))); })
      .Case([&](math::ErfOp) {
        Value x = operand(0);
        Value gauss = math::ExpOp::create(b, loc, neg(mul(x, x)));
        return chain(mul(c(kTwoOverSqrtPi), gauss));
      })
      .Case([&](math::SinOp) { return chain(math::CosOp::create(b, loc, operand(0))); })
      .Case([&](math::CosOp) { return chain(neg(math::SinOp::create(b, loc, operand(0)))); })
      .Case([&](math::AbsFOp) {
        return chain(math::CopySignOp::create(b, loc, c(1.0), operand(0)));
      })
      .Case([&](math::PowFOp) -> Value { // d0 * y * x^(y-1) + d1 * r * log(x)
        Value x = operand(0), y = operand(1);
        Value dx = d0 ? mul(d0, mul(y, math::PowFOp::create(
                                           b, loc, x, arith::SubFOp::create(b, loc, y, c(1.0)))))
                      : Value();
        Value dy = d1 ? mul(d1, mul(r, math::LogOp::create(b, loc, x))) : Value();
        return add(dx, dy);
      })
      .Case([&](math::FPowIOp powi) -> Value { // d0 * n * x^(n-1)
        Value n = powi.getRhs();
        Value one = arith::ConstantOp::create(b, loc, b.getIntegerAttr(n.getType(), 1));
        Value lower = math::FPowIOp::create(b, loc, powi.getLhs(), arith::SubIOp::create(b, loc, n, one));
        return chain(mul(arith::SIToFPOp::create(b, loc, type, n), lower));
      })
      .Case([&](math::FmaOp) -> Value { // a * b + c
        Value dd = d.size() > 2 ? d[2] : Value();
        return add(add(d0 ? mul(d0, operand(1)) : Value(), d1 ? mul(operand(0), d1) : Value()), dd);
      })
      .Default([](Operation *) { return failure(); });
}

//===----------------------------------------------------------------------===//
// Reductions: how the yield folds each result's accumulator
//===----------------------------------------------------------------------===//

struct Combiner {
  enum Kind { Elementwise, Sum, Extremum } kind = Elementwise;
  /// The payload value folded into the accumulator (Sum, Extremum).
  Value term;
  bool negated = false;
  /// Payload ops that only combine; the adjoint's payload leaves them out.
  SmallVector<Operation *> ops;
};

FailureOr<Combiner> classifyCombiner(Block *body, BlockArgument acc, Value yielded) {
  Combiner combiner;
  Operation *def = yielded.getDefiningOp();
  if (!def || def->getBlock() != body)
    return failure();
  auto other = [&](Value x, Value y) -> Value { return x == acc ? y : (y == acc ? x : Value()); };
  if (isa<arith::AddFOp, arith::SubFOp>(def)) {
    if (isa<arith::SubFOp>(def) && def->getOperand(0) != acc)
      return failure();
    combiner.kind = Combiner::Sum;
    combiner.term = other(def->getOperand(0), def->getOperand(1));
    combiner.negated = isa<arith::SubFOp>(def);
    combiner.ops = {def};
  } else if (isa<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp, arith::MinNumFOp>(def)) {
    combiner.kind = Combiner::Extremum;
    combiner.term = other(def->getOperand(0), def->getOperand(1));
    combiner.ops = {def};
  } else if (auto select = dyn_cast<arith::SelectOp>(def)) {
    auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
    Value term = other(select.getTrueValue(), select.getFalseValue());
    if (!cmp || !term || other(cmp.getLhs(), cmp.getRhs()) != term)
      return failure();
    combiner.kind = Combiner::Extremum;
    combiner.term = term;
    combiner.ops = {cmp, def};
  } else {
    return failure();
  }
  if (!combiner.term)
    return failure();
  // The accumulator must feed nothing but the combination.
  for (Operation *user : acc.getUsers())
    if (!llvm::is_contained(combiner.ops, user))
      return failure();
  return combiner;
}

/// Coefficients of `expr` as a sum of dims times constants, or failure.
LogicalResult linearForm(AffineExpr expr, SmallVectorImpl<int64_t> &coefficients, int64_t scale = 1) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
    coefficients[dim.getPosition()] += scale;
    return success();
  }
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return failure();
  if (binary.getKind() == AffineExprKind::Add)
    return success(succeeded(linearForm(binary.getLHS(), coefficients, scale)) &&
                   succeeded(linearForm(binary.getRHS(), coefficients, scale)));
  if (binary.getKind() == AffineExprKind::Mul)
    if (auto constant = dyn_cast<AffineConstantExpr>(binary.getRHS()))
      return linearForm(binary.getLHS(), coefficients, scale * constant.getValue());
  return failure();
}

/// A windowed read `out * stride + kernel * dilation` of the differentiated operand.
struct Window {
  unsigned outDim, kernelDim;
  int64_t stride, dilation;
  /// The operand's size along the window.
  int64_t extent;
};

//===----------------------------------------------------------------------===//
// The reverse sweep
//===----------------------------------------------------------------------===//

class ReverseMode {
public:
  explicit ReverseMode(OpBuilder &builder) : b(builder) {}

  DenseSet<Value> active;
  DenseMap<Value, Value> adjoints;

  void accumulate(Value value, Value adjoint) {
    if (!adjoint || !active.contains(value))
      return;
    auto [it, inserted] = adjoints.try_emplace(value, adjoint);
    if (!inserted)
      it->second = addTensors(b, adjoint.getLoc(), it->second, adjoint);
  }

  LogicalResult visit(Operation *op);

private:
  OpBuilder &b;

  LogicalResult visitStructured(linalg::LinalgOp op);
  bool visitNamedMatmul(linalg::LinalgOp op, ArrayRef<Value> resultAdjoints);
  LogicalResult adjointOfOperand(linalg::LinalgOp op, OpOperand &target,
                                 ArrayRef<Combiner> combiners, ArrayRef<Value> resultAdjoints);
  LogicalResult visitTensorOp(Operation *op, Value adjoint);
};

LogicalResult ReverseMode::visit(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return visitStructured(linalgOp);
  if (op->getNumResults() == 1 && isa_and_nonnull<tensor::TensorDialect>(op->getDialect()))
    return visitTensorOp(op, adjoints.lookup(op->getResult(0)));
  if (isa<func::CallOp>(op))
    return op->emitError("amp-differentiate: calls are not differentiated; inline the callee "
                         "first (--inline)");
  return op->emitError() << "amp-differentiate: no gradient rule for '" << op->getName() << "'";
}

LogicalResult ReverseMode::visitTensorOp(Operation *op, Value adjoint) {
  Location loc = op->getLoc();
  auto zerosLike = [&](Value v) { return zerosOf(b, loc, cast<RankedTensorType>(v.getType())); };
  auto sliceOf = [&](Value source, RankedTensorType type, ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) -> Value {
    return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes, strides);
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](tensor::ExpandShapeOp expand) {
        accumulate(expand.getSrc(),
                   tensor::CollapseShapeOp::create(b, loc, expand.getSrcType(), adjoint,
                                                   expand.getReassociationIndices()));
        return success();
      })
      .Case([&](tensor::CollapseShapeOp collapse) {
        accumulate(collapse.getSrc(),
                   tensor::ExpandShapeOp::create(b, loc, collapse.getSrcType(), adjoint,
                                                 collapse.getReassociationIndices()));
        return success();
      })
      .Case([&](tensor::CastOp castOp) {
        accumulate(castOp.getSource(),
                   tensor::CastOp::create(b, loc, castOp.getSource().getType(), adjoint));
        return success();
      })
      .Case([&](tensor::ExtractSliceOp slice) {
        accumulate(slice.getSource(),
                   tensor::InsertSliceOp::create(b, loc, adjoint, zerosLike(slice.getSource()),
                                                 slice.getMixedOffsets(), slice.getMixedSizes(),
                                                 slice.getMixedStrides()));
        return success();
      })
      .Case([&](tensor::InsertSliceOp insert) {
        if (active.contains(insert.getSource()))
          accumulate(insert.getSource(),
                     sliceOf(adjoint, insert.getSourceType(), insert.getMixedOffsets(),
                             insert.getMixedSizes(), insert.getMixedStrides()));
        if (active.contains(insert.getDest()))
          accumulate(insert.getDest(),
                     tensor::InsertSliceOp::create(b, loc, zerosLike(insert.getSource()), adjoint,
                                                   insert.getMixedOffsets(), insert.getMixedSizes(),
                                                   insert.getMixedStrides()));
        return success();
      })
      .Case([&](tensor::PadOp pad) -> LogicalResult {
        if (active.contains(pad.getConstantPaddingValue()))
          return pad.emitError("amp-differentiate: the padding value has no gradient rule");
        RankedTensorType sourceType = pad.getSourceType();
        SmallVector<OpFoldResult> sizes, strides(sourceType.getRank(), b.getIndexAttr(1));
        for (int64_t size : sourceType.getShape())
          sizes.push_back(b.getIndexAttr(size));
        accumulate(pad.getSource(),
                   sliceOf(adjoint, sourceType, pad.getMixedLowPad(), sizes, strides));
        return success();
      })
      .Case([&](tensor::ConcatOp concat) {
        int64_t offset = 0;
        for (Value input : concat.getInputs()) {
          auto type = cast<RankedTensorType>(input.getType());
          SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
              strides(type.getRank(), b.getIndexAttr(1));
          for (int64_t size : type.getShape())
            sizes.push_back(b.getIndexAttr(size));
          offsets[concat.getDim()] = b.getIndexAttr(offset);
          if (active.contains(input))
            accumulate(input, sliceOf(adjoint, type, offsets, sizes, strides));
          offset += type.getDimSize(concat.getDim());
        }
        return success();
      })
      .Default([&](Operation *) {
        return op->emitError() << "amp-differentiate: no gradient rule for '" << op->getName()
                               << "'";
      });
}

/// linalg.matmul and linalg.batch_matmul with their default maps keep named
/// ops in the backward (dA = dC B^T, dB = A^T dC), as a hand-written
/// backward would, so the GEMM paths of the back ends see named GEMMs.
bool ReverseMode::visitNamedMatmul(linalg::LinalgOp op, ArrayRef<Value> resultAdjoints) {
  bool batched = isa<linalg::BatchMatmulOp>(op);
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> defaults;
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
    defaults = linalg::MatmulOp::getDefaultIndexingMaps(ctx);
  else if (batched)
    defaults = linalg::BatchMatmulOp::getDefaultIndexingMaps(ctx);
  else
    return false;
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1], acc = op.getDpsInits()[0];
  Type element = getElementTypeOrSelf(acc.getType());
  if (op.getIndexingMapsArray() != defaults || getElementTypeOrSelf(lhs.getType()) != element ||
      getElementTypeOrSelf(rhs.getType()) != element)
    return false;
  Location loc = op.getLoc();
  Value dResult = resultAdjoints[0];
  auto transposed = [&](Value v) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> permutation = batched ? SmallVector<int64_t>{0, 2, 1}
                                               : SmallVector<int64_t>{1, 0};
    SmallVector<int64_t> shape = applyPermutation(type.getShape(), permutation);
    Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
    return linalg::TransposeOp::create(b, loc, v, init, permutation).getResult()[0];
  };
  auto product = [&](Value x, Value y, Value like) -> Value {
    Value zeros = zerosOf(b, loc, cast<RankedTensorType>(like.getType()));
    if (batched)
      return linalg::BatchMatmulOp::create(b, loc, ValueRange{x, y}, ValueRange{zeros}).getResult(0);
    return linalg::MatmulOp::create(b, loc, ValueRange{x, y}, ValueRange{zeros}).getResult(0);
  };
  if (active.contains(lhs))
    accumulate(lhs, product(dResult, transposed(rhs), lhs));
  if (active.contains(rhs))
    accumulate(rhs, product(transposed(lhs), dResult, rhs));
  accumulate(acc, dResult);
  return true;
}

LogicalResult ReverseMode::visitStructured(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return op->emitError("amp-differentiate: needs linalg ops on tensors");
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  for (Value value : captured)
    if (active.contains(value))
      return op->emitError("amp-differentiate: a differentiable value is used inside the payload; "
                           "pass it as an operand");
  SmallVector<Value> resultAdjoints;
  for (Value result : op->getResults())
    resultAdjoints.push_back(adjoints.lookup(result));
  if (op->getNumResults() == 1 && visitNamedMatmul(op, resultAdjoints))
    return success();

  Block *body = op.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  bool reduces = op.getNumReductionLoops() > 0;
  unsigned numInputs = op.getNumDpsInputs();
  SmallVector<Combiner> combiners(op.getNumDpsInits());
  if (reduces) {
    if (body->getNumArguments() != numInputs + op.getNumDpsInits())
      return op->emitError("amp-differentiate: unexpected payload arguments");
    for (unsigned r = 0; r < combiners.size(); ++r) {
      FailureOr<Combiner> combiner =
          classifyCombiner(body, body->getArgument(numInputs + r), yield.getOperand(r));
      if (failed(combiner))
        return op->emitError("amp-differentiate: no gradient rule for this reduction (its payload "
                             "must fold the accumulator with a sum, a difference, a max or a min)");
      combiners[r] = *combiner;
    }
  }
  for (OpOperand &operand : op->getOpOperands()) {
    if (!active.contains(operand.get()))
      continue;
    if (!isa<RankedTensorType>(operand.get().getType()))
      return op->emitError("amp-differentiate: a differentiable scalar operand has no gradient rule");
    unsigned index = operand.getOperandNumber();
    if (index >= body->getNumArguments() || body->getArgument(index).use_empty())
      continue; // The payload does not read it (fill's, copy's or map's init).
    if (reduces && op.isDpsInit(&operand)) {
      unsigned r = index - numInputs;
      if (combiners[r].kind != Combiner::Sum)
        return op->emitError("amp-differentiate: the init of a max/min reduction has no gradient rule");
      // result = init + sum(terms): the init receives the result's adjoint.
      accumulate(operand.get(), resultAdjoints[r]);
      continue;
    }
    if (failed(adjointOfOperand(op, operand, combiners, resultAdjoints)))
      return failure();
  }
  return success();
}

LogicalResult ReverseMode::adjointOfOperand(linalg::LinalgOp op, OpOperand &target,
                                            ArrayRef<Combiner> combiners,
                                            ArrayRef<Value> resultAdjoints) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  Block *body = op.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  unsigned numLoops = op.getNumLoops();
  unsigned numInputs = op.getNumDpsInputs();
  bool reduces = op.getNumReductionLoops() > 0;
  auto targetType = cast<RankedTensorType>(target.get().getType());
  AffineMap targetMap = op.getMatchingIndexingMap(&target);
  SmallVector<int64_t> loopSizes = op.getStaticLoopRanges();
  if (llvm::any_of(loopSizes, ShapedType::isDynamic))
    return op->emitError("amp-differentiate: needs static shapes");

  // Dimensions the results are indexed by.
  llvm::SmallBitVector resultDims(numLoops);
  for (OpOperand &init : op.getDpsInitsMutable())
    for (AffineExpr expr : op.getMatchingIndexingMap(&init).getResults())
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        resultDims.set(dim.getPosition());

  // The adjoint is indexed like the operand; windowed reads `o * s + k * d`
  // become reads at o, with o now running over the operand's extent.
  // A unit dimension read at a constant 0 (a broadcast written as
  // `(d0, d1) -> (d0, 0)`) is left out of the adjoint and put back with an
  // expand_shape.
  SmallVector<Window> windows;
  SmallVector<AffineExpr> adjointExprs, readExprs;
  SmallVector<int64_t> adjointShape;
  for (auto [pos, expr] : llvm::enumerate(targetMap.getResults())) {
    if (auto constant = dyn_cast<AffineConstantExpr>(expr)) {
      if (constant.getValue() != 0 || targetType.getDimSize(pos) != 1)
        return op->emitError("amp-differentiate: no gradient rule for operand ")
               << target.getOperandNumber() << " read at constant index " << constant.getValue();
      readExprs.push_back(expr);
      continue;
    }
    adjointShape.push_back(targetType.getDimSize(pos));
    if (isa<AffineDimExpr>(expr)) {
      adjointExprs.push_back(expr);
      readExprs.push_back(expr);
      continue;
    }
    SmallVector<int64_t> coefficients(numLoops, 0);
    SmallVector<unsigned> dims;
    if (succeeded(linearForm(expr, coefficients)))
      for (unsigned d = 0; d < numLoops; ++d)
        if (coefficients[d] != 0)
          dims.push_back(d);
    if (dims.size() != 2 || resultDims.test(dims[0]) == resultDims.test(dims[1]) ||
        coefficients[dims[0]] < 1 || coefficients[dims[1]] < 1)
      return op->emitError("amp-differentiate: no gradient rule for operand ")
             << target.getOperandNumber() << " read through " << toString(expr);
    unsigned outDim = resultDims.test(dims[0]) ? dims[0] : dims[1];
    unsigned kernelDim = outDim == dims[0] ? dims[1] : dims[0];
    windows.push_back({outDim, kernelDim, coefficients[outDim], coefficients[kernelDim],
                       targetType.getDimSize(pos)});
    adjointExprs.push_back(getAffineDimExpr(outDim, ctx));
    readExprs.push_back(getAffineDimExpr(outDim, ctx));
  }
  AffineMap adjointMap = AffineMap::get(numLoops, 0, adjointExprs, ctx);
  // How the payload reads the operand itself in the adjoint's loops.
  AffineMap readMap = AffineMap::get(numLoops, 0, readExprs, ctx);
  if (!adjointMap.isProjectedPermutation())
    return op->emitError("amp-differentiate: no gradient rule for operand ")
           << target.getOperandNumber() << " read through a repeated dimension";
  auto windowOf = [&](unsigned dim, bool kernel) -> const Window * {
    for (const Window &window : windows)
      if ((kernel ? window.kernelDim : window.outDim) == dim)
        return &window;
    return nullptr;
  };

  // Operands of the adjoint: what the payload reads, the results where an
  // extremum needs them, and the results' adjoints.
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<std::pair<Value, unsigned>> slots; // forward payload value -> adjoint input
  auto addInput = [&](Value value, AffineMap map) {
    inputs.push_back(value);
    maps.push_back(map);
    return inputs.size() - 1;
  };
  // Values indexed like a result, transposed-convolution style: spread
  // out by the stride, padded by the kernel's reach, read at o + k * d.
  auto addResultIndexed = [&](Value value, AffineMap map) -> unsigned {
    if (windows.empty())
      return addInput(value, map);
    SmallVector<Spread> spreads;
    SmallVector<AffineExpr> exprs;
    for (auto [pos, expr] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      const Window *window = dim ? windowOf(dim.getPosition(), false) : nullptr;
      if (!window) {
        exprs.push_back(expr);
        continue;
      }
      int64_t reach = (loopSizes[window->kernelDim] - 1) * window->dilation;
      // Covers the operand's extent plus the kernel's reach.
      spreads.push_back({static_cast<unsigned>(pos), window->extent + reach, reach, window->stride});
      exprs.push_back(expr + getAffineDimExpr(window->kernelDim, ctx) * window->dilation);
    }
    return addInput(spreadOut(b, loc, value, spreads), AffineMap::get(numLoops, 0, exprs, ctx));
  };

  for (OpOperand *input : op.getDpsInputOperands()) {
    unsigned index = input->getOperandNumber();
    BlockArgument arg = index < body->getNumArguments() ? body->getArgument(index) : nullptr;
    AffineMap map = op.getMatchingIndexingMap(input);
    Value value = input->get();
    if (input == &target) {
      map = readMap;
    } else if (!windows.empty()) {
      SmallVector<unsigned> flips;
      for (auto [pos, expr] : llvm::enumerate(map.getResults())) {
        SmallVector<int64_t> coefficients(numLoops, 0);
        bool linear = succeeded(linearForm(expr, coefficients));
        for (const Window &window : windows) {
          if (!linear || coefficients[window.outDim] != 0)
            return op->emitError("amp-differentiate: no gradient rule for operand ")
                   << target.getOperandNumber() << ": operand " << index
                   << " is also read through a window";
          if (coefficients[window.kernelDim] != 0) {
            if (!isa<AffineDimExpr>(expr))
              return op->emitError("amp-differentiate: unsupported kernel indexing ") << toString(expr);
            flips.push_back(pos);
          }
        }
      }
      // The kernel runs backwards in a transposed convolution; a window
      // operand the payload never reads only gives the loop bounds.
      if (!flips.empty() && arg && !arg.use_empty())
        value = reverseDims(b, loc, value, flips);
    }
    unsigned slot = addInput(value, map);
    if (arg)
      slots.push_back({arg, slot});
  }
  SmallVector<std::optional<unsigned>> adjointSlots(op.getNumDpsInits());
  for (OpOperand &init : op.getDpsInitsMutable()) {
    unsigned r = init.getOperandNumber() - numInputs;
    unsigned index = init.getOperandNumber();
    BlockArgument arg = index < body->getNumArguments() ? body->getArgument(index) : nullptr;
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!reduces) {
      if (arg && !arg.use_empty())
        slots.push_back({arg, addInput(init.get(), map)});
    } else if (combiners[r].kind == Combiner::Extremum && resultAdjoints[r]) {
      slots.push_back({arg, addResultIndexed(op->getResult(r), map)});
    }
    if (resultAdjoints[r]) {
      adjointSlots[r] = addResultIndexed(resultAdjoints[r], map);
    }
  }

  bool accumulates = adjointMap.getNumResults() != numLoops;
  auto adjointType = RankedTensorType::get(adjointShape, targetType.getElementType());
  SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::reduction);
  for (AffineExpr expr : adjointMap.getResults())
    iterators[cast<AffineDimExpr>(expr).getPosition()] = utils::IteratorType::parallel;
  Value init = accumulates ? zerosOf(b, loc, adjointType)
                           : tensor::EmptyOp::create(b, loc, adjointType.getShape(),
                                                     adjointType.getElementType())
                                 .getResult();
  maps.push_back(adjointMap);

  llvm::SmallPtrSet<Operation *, 4> combinerOps;
  for (const Combiner &combiner : combiners)
    combinerOps.insert(combiner.ops.begin(), combiner.ops.end());
  Operation *unsupported = nullptr;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{adjointType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        IRMapping mapping;
        for (auto [forward, slot] : slots)
          mapping.map(forward, args[slot]);
        DenseMap<Value, Value> derivatives;
        BlockArgument source = body->getArgument(target.getOperandNumber());
        derivatives[mapping.lookup(source)] = floatConstant(nb, nl, source.getType(), 1.0);
        for (Operation &payloadOp : body->without_terminator()) {
          if (combinerOps.contains(&payloadOp))
            continue;
          Operation *clone = nb.clone(payloadOp, mapping);
          SmallVector<Value> operandDerivatives;
          for (Value operand : clone->getOperands())
            operandDerivatives.push_back(derivatives.lookup(operand));
          FailureOr<Value> derivative = derivativeOf(nb, clone, operandDerivatives);
          if (failed(derivative)) {
            unsupported = &payloadOp;
            break;
          }
          if (*derivative)
            derivatives[clone->getResult(0)] = *derivative;
        }
        Type element = targetType.getElementType();
        Value total;
        for (unsigned r = 0; r < combiners.size() && !unsupported; ++r) {
          if (!adjointSlots[r])
            continue;
          const Combiner &combiner = combiners[r];
          Value value = mapping.lookupOrDefault(
              combiner.kind == Combiner::Elementwise ? yield.getOperand(r) : combiner.term);
          Value derivative = derivatives.lookup(value);
          if (!derivative)
            continue;
          if (combiner.negated)
            derivative = arith::NegFOp::create(nb, nl, derivative);
          if (combiner.kind == Combiner::Extremum) {
            Value result = mapping.lookup(body->getArgument(numInputs + r));
            Value hit = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, value, result);
            derivative = arith::SelectOp::create(
                nb, nl, hit, derivative, floatConstant(nb, nl, derivative.getType(), 0.0));
          }
          Value contribution = arith::MulFOp::create(nb, nl, args[*adjointSlots[r]], derivative);
          total = total ? arith::AddFOp::create(nb, nl, total, contribution).getResult()
                        : contribution;
        }
        if (!total)
          total = floatConstant(nb, nl, element, 0.0);
        if (total.getType() != element)
          total = element.getIntOrFloatBitWidth() < total.getType().getIntOrFloatBitWidth()
                      ? arith::TruncFOp::create(nb, nl, element, total).getResult()
                      : arith::ExtFOp::create(nb, nl, element, total).getResult();
        if (accumulates)
          total = arith::AddFOp::create(nb, nl, args.back(), total);
        linalg::YieldOp::create(nb, nl, total);
      });
  if (unsupported) {
    generic->erase();
    return op->emitError() << "amp-differentiate: no derivative for '" << unsupported->getName()
                           << "' in the payload";
  }
  Value adjoint = generic.getResult(0);
  if (adjointType != targetType) {
    std::optional<SmallVector<ReassociationIndices>> reassociation =
        getReassociationIndicesForReshape(adjointType, targetType);
    if (!reassociation)
      return op->emitError("amp-differentiate: cannot restore the unit dimensions of operand ")
             << target.getOperandNumber();
    adjoint = tensor::ExpandShapeOp::create(b, loc, targetType, adjoint, *reassociation);
  }
  accumulate(target.get(), adjoint);
  return success();
}

} // namespace

FailureOr<SmallVector<Value>> ampc::emitReverseMode(OpBuilder &builder, Value target,
                                                    Value targetAdjoint, ArrayRef<Value> wrt) {
  Block *block = builder.getInsertionBlock();
  SmallVector<Operation *> forward;
  for (Operation &op : llvm::make_range(block->begin(), builder.getInsertionPoint()))
    forward.push_back(&op);

  ReverseMode reverse(builder);
  reverse.active.insert(wrt.begin(), wrt.end());
  for (Operation *op : forward) {
    bool active = llvm::any_of(op->getOperands(),
                               [&](Value v) { return reverse.active.contains(v); });
    if (!active && op->getNumRegions()) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      active = llvm::any_of(captured, [&](Value v) { return reverse.active.contains(v); });
    }
    if (!active)
      continue;
    for (Value result : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (type && !type.hasStaticShape())
        return op->emitError("amp-differentiate: needs static shapes"), failure();
      reverse.active.insert(result);
    }
  }
  SmallVector<Value> gradients(wrt.size());
  if (!reverse.active.contains(target))
    return gradients;
  reverse.adjoints[target] = targetAdjoint;
  // Only active values receive adjoints, so an op visited here is active.
  for (Operation *op : llvm::reverse(forward)) {
    if (llvm::none_of(op->getResults(), [&](Value r) { return reverse.adjoints.count(r); }))
      continue;
    if (failed(reverse.visit(op)))
      return failure();
  }
  for (auto [i, value] : llvm::enumerate(wrt))
    gradients[i] = reverse.adjoints.lookup(value);
  return gradients;
}
