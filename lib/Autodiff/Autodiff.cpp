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
#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Utils/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
using ampc::addTensors;
using ampc::filledWith;
using ampc::floatConstant;
using ampc::reverseDims;
using ampc::Spread;
using ampc::spreadOut;
using ampc::zerosOf;

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

//===----------------------------------------------------------------------===//
// Adjoints of scalar payload ops (reverse mode inside one payload)
//===----------------------------------------------------------------------===//

/// The adjoints of `op`'s operands (null: none, or zero) given the adjoint
/// `adj` of its result; `op` is already cloned into the adjoint's payload.
/// As PyTorch's backward, masks select the adjoint rather than multiply it
/// (ReLU's max, a select): an infinite adjoint at an inactive unit is 0, not
/// inf * 0 = NaN. Fails for an op without a rule.
FailureOr<SmallVector<Value>> adjointsOfOperands(OpBuilder &b, Operation *op, Value adj) {
  Location loc = op->getLoc();
  SmallVector<Value> none(op->getNumOperands());
  // Comparisons, integer and index arithmetic, conversions to integers and
  // reads of other tensors pass nothing on to float operands.
  if (op->getNumResults() != 1 || !isa<FloatType>(op->getResult(0).getType()) ||
      llvm::none_of(op->getOperandTypes(), [](Type t) { return isa<FloatType>(t); }))
    return none;
  Value r = op->getResult(0);
  Type type = r.getType();
  auto c = [&](double v) { return floatConstant(b, loc, type, v); };
  auto mul = [&](Value x, Value y) -> Value { return arith::MulFOp::create(b, loc, x, y); };
  auto div = [&](Value x, Value y) -> Value { return arith::DivFOp::create(b, loc, x, y); };
  auto add = [&](Value x, Value y) -> Value { return arith::AddFOp::create(b, loc, x, y); };
  auto neg = [&](Value x) -> Value { return arith::NegFOp::create(b, loc, x); };
  auto pick = [&](Value cond, Value yes, Value no) -> Value {
    return arith::SelectOp::create(b, loc, cond, yes, no);
  };
  auto operand = [&](unsigned i) { return op->getOperand(i); };
  using Adjoints = SmallVector<Value>;
  auto unary = [&](Value value) -> Adjoints { return {value}; };

  return llvm::TypeSwitch<Operation *, FailureOr<Adjoints>>(op)
      .Case([&](arith::AddFOp) -> Adjoints { return {adj, adj}; })
      .Case([&](arith::SubFOp) -> Adjoints { return {adj, neg(adj)}; })
      .Case([&](arith::NegFOp) { return unary(neg(adj)); })
      .Case([&](arith::MulFOp) -> Adjoints { return {mul(adj, operand(1)), mul(adj, operand(0))}; })
      .Case([&](arith::DivFOp) -> Adjoints { // a / b: adj / b, -adj * r / b
        return {div(adj, operand(1)), neg(div(mul(adj, r), operand(1)))};
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp, arith::MinNumFOp>(
          [&](Operation *) -> Adjoints {
            // At a tie the second operand wins: ReLU's max(x, 0) at 0 is 0,
            // as in PyTorch.
            bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(op);
            Value first = arith::CmpFOp::create(
                b, loc, isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
                operand(0), operand(1));
            Value zero = c(0.0);
            return {pick(first, adj, zero), pick(first, zero, adj)};
          })
      .Case([&](arith::SelectOp select) -> Adjoints {
        Value zero = c(0.0);
        return {Value(), pick(select.getCondition(), adj, zero),
                pick(select.getCondition(), zero, adj)};
      })
      .Case([&](arith::ExtFOp ext) -> FailureOr<Adjoints> {
        if (!isa<FloatType>(ext.getIn().getType()))
          return failure();
        return unary(arith::TruncFOp::create(b, loc, ext.getIn().getType(), adj));
      })
      .Case([&](arith::TruncFOp trunc) {
        return unary(arith::ExtFOp::create(b, loc, trunc.getIn().getType(), adj));
      })
      .Case<arith::SIToFPOp, arith::UIToFPOp>([&](Operation *) { return none; })
      .Case([&](math::ExpOp) { return unary(mul(adj, r)); })
      .Case([&](math::Exp2Op) { return unary(mul(adj, mul(r, c(kLn2)))); })
      .Case([&](math::ExpM1Op) { return unary(mul(adj, add(r, c(1.0)))); })
      .Case([&](math::LogOp) { return unary(div(adj, operand(0))); })
      .Case([&](math::Log2Op) { return unary(div(adj, mul(operand(0), c(kLn2)))); })
      .Case([&](math::Log10Op) { return unary(div(adj, mul(operand(0), c(kLn10)))); })
      .Case([&](math::Log1pOp) { return unary(div(adj, add(operand(0), c(1.0)))); })
      .Case([&](math::TanhOp) {
        return unary(mul(adj, arith::SubFOp::create(b, loc, c(1.0), mul(r, r))));
      })
      .Case([&](math::SqrtOp) { return unary(div(mul(adj, c(0.5)), r)); })
      .Case([&](math::RsqrtOp) { return unary(mul(adj, mul(c(-0.5), div(r, operand(0))))); })
      .Case([&](math::ErfOp) {
        Value x = operand(0);
        Value gauss = math::ExpOp::create(b, loc, neg(mul(x, x)));
        return unary(mul(adj, mul(c(kTwoOverSqrtPi), gauss)));
      })
      .Case([&](math::SinOp) { return unary(mul(adj, math::CosOp::create(b, loc, operand(0)))); })
      .Case([&](math::CosOp) {
        return unary(neg(mul(adj, math::SinOp::create(b, loc, operand(0)))));
      })
      .Case([&](math::AbsFOp) {
        return unary(mul(adj, math::CopySignOp::create(b, loc, c(1.0), operand(0))));
      })
      .Case([&](math::PowFOp) -> Adjoints { // x^y: adj * y * x^(y-1), adj * r * log(x)
        Value x = operand(0), y = operand(1);
        Value lower = math::PowFOp::create(b, loc, x, arith::SubFOp::create(b, loc, y, c(1.0)));
        return {mul(adj, mul(y, lower)), mul(adj, mul(r, math::LogOp::create(b, loc, x)))};
      })
      .Case([&](math::FPowIOp powi) -> Adjoints { // x^n: adj * n * x^(n-1)
        Value n = powi.getRhs();
        Value one = arith::ConstantOp::create(b, loc, b.getIntegerAttr(n.getType(), 1));
        Value lower = math::FPowIOp::create(b, loc, powi.getLhs(), arith::SubIOp::create(b, loc, n, one));
        return {mul(adj, mul(arith::SIToFPOp::create(b, loc, type, n), lower)), Value()};
      })
      .Case([&](math::FmaOp) -> Adjoints { // a * b + c
        return {mul(adj, operand(1)), mul(adj, operand(0)), adj};
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
  /// Extremum: a max (else a min).
  bool isMax = false;
  /// Payload ops that only combine; the adjoint's payload leaves them out.
  SmallVector<Operation *> ops;
};

/// The payload ops (of `body`) that `values` are computed from, in block
/// order, and whether that computation reads one of `args`.
SmallVector<Operation *> payloadSlice(Block *body, ArrayRef<Value> values,
                                      ArrayRef<BlockArgument> args, bool *readsArgs = nullptr) {
  llvm::SmallPtrSet<Operation *, 16> needed;
  SmallVector<Value> worklist(values.begin(), values.end());
  bool reads = false;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      reads |= arg.getOwner() == body && llvm::is_contained(args, arg);
      continue;
    }
    Operation *def = value.getDefiningOp();
    if (!def || def->getBlock() != body || !needed.insert(def).second)
      continue;
    llvm::append_range(worklist, def->getOperands());
  }
  if (readsArgs)
    *readsArgs = reads;
  SmallVector<Operation *> ordered;
  for (Operation &op : body->without_terminator())
    if (needed.contains(&op))
      ordered.push_back(&op);
  return ordered;
}

/// How the payload folds `yielded` into `acc`. `accumulators` are the block
/// arguments of every result's accumulator: the folded value must not read
/// any of them. On failure `why` says what the payload does instead.
FailureOr<Combiner> classifyCombiner(Block *body, BlockArgument acc, Value yielded,
                                     ArrayRef<BlockArgument> accumulators, std::string &why) {
  Combiner combiner;
  Operation *def = yielded.getDefiningOp();
  if (!def || def->getBlock() != body) {
    why = "its payload yields a value computed outside the payload";
    return failure();
  }
  auto other = [&](Value x, Value y) -> Value { return x == acc ? y : (y == acc ? x : Value()); };
  if (isa<arith::AddFOp, arith::SubFOp>(def)) {
    combiner.kind = Combiner::Sum;
    combiner.term = other(def->getOperand(0), def->getOperand(1));
    combiner.negated = isa<arith::SubFOp>(def);
    if (combiner.negated && def->getOperand(0) != acc)
      combiner.term = Value(); // term - acc is not a reduction of terms
    combiner.ops = {def};
  } else if (isa<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp, arith::MinNumFOp>(def)) {
    combiner.kind = Combiner::Extremum;
    combiner.isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(def);
    combiner.term = other(def->getOperand(0), def->getOperand(1));
    combiner.ops = {def};
  } else if (auto select = dyn_cast<arith::SelectOp>(def)) {
    auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
    Value term = other(select.getTrueValue(), select.getFalseValue());
    using P = arith::CmpFPredicate;
    P pred = cmp ? cmp.getPredicate() : P::AlwaysFalse;
    bool greater = llvm::is_contained({P::OGT, P::OGE, P::UGT, P::UGE}, pred);
    bool less = llvm::is_contained({P::OLT, P::OLE, P::ULT, P::ULE}, pred);
    if (cmp && term && other(cmp.getLhs(), cmp.getRhs()) == term && (greater || less)) {
      combiner.kind = Combiner::Extremum;
      // The larger value wins when the comparison says lhs > rhs and the
      // select then picks lhs (or lhs < rhs and it picks rhs).
      combiner.isMax = greater == (select.getTrueValue() == cmp.getLhs());
      combiner.term = term;
      combiner.ops = {cmp, def};
    }
  }
  if (!combiner.term) {
    why = (Twine("its payload folds the accumulator with '") + def->getName().getStringRef() +
           "'; there are rules for sums (addf, acc - x), max and min (maximumf, minimumf, "
           "maxnumf, minnumf, cmpf + select)")
              .str();
    return failure();
  }
  bool readsAccumulator = false;
  (void)payloadSlice(body, combiner.term, accumulators, &readsAccumulator);
  if (readsAccumulator || combiner.term == acc) {
    why = "the value its payload folds in reads an accumulator";
    return failure();
  }
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

/// What the adjoints of one structured op share: its payload, how each
/// result folds its accumulator, the results' adjoints, and (max/min
/// reductions) which element of each window receives the adjoint.
struct StructuredInfo {
  linalg::LinalgOp op;
  Block *body;
  linalg::YieldOp yield;
  unsigned numLoops, numInputs;
  bool reduces;
  SmallVector<int64_t> loopSizes;
  SmallVector<Combiner> combiners;
  SmallVector<Value> resultAdjoints;
  /// Max/min results: per result element, the forward linear index (over the
  /// reduction loops, in loop order) of the first element equal to the
  /// result, or -1 where the init is the result (i64 tensors shaped like the
  /// result).
  SmallVector<Value> firstHits;

  /// The payload value whose derivative result `r` carries.
  Value resultValue(unsigned r) const {
    linalg::YieldOp terminator = yield; // op handles have non-const accessors
    return combiners[r].kind == Combiner::Elementwise ? terminator.getOperand(r)
                                                      : combiners[r].term;
  }
};

/// The linear index over the reduction loops of `info.op`, from the loop
/// indices `forwardIndex(d)` gives (as index values).
Value reductionLinearIndex(OpBuilder &b, Location loc, const StructuredInfo &info,
                           function_ref<Value(unsigned)> forwardIndex) {
  linalg::LinalgOp op = info.op; // op handles have non-const accessors
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  Value linear = arith::ConstantIndexOp::create(b, loc, 0);
  for (unsigned d = 0; d < info.numLoops; ++d) {
    if (iterators[d] != utils::IteratorType::reduction)
      continue;
    Value size = arith::ConstantIndexOp::create(b, loc, info.loopSizes[d]);
    linear = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, linear, size),
                                   forwardIndex(d));
  }
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), linear);
}

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
  bool visitReversingCopy(linalg::LinalgOp op);
  FailureOr<Value> emitFirstHits(const StructuredInfo &info, unsigned r);
  LogicalResult adjointOfOperand(const StructuredInfo &info, OpOperand &target);
  LogicalResult adjointOfExtract(const StructuredInfo &info, tensor::ExtractOp extract);
  LogicalResult visitTensorOp(Operation *op, Value adjoint);
};

/// Inside an adjoint's payload: sum over the results r of
/// adjoint_r * d result_r / d source, by reverse mode over the forward
/// payload ops the results are computed from (cloned through `mapping`,
/// which maps the forward block arguments they read), as PyTorch's backward
/// runs op by op. Max/min results pass their adjoint only to the element
/// `hit(r)` says is the first maximum of its window; differences negate it.
/// Returns null for a zero contribution; fails with `why` set for a payload
/// op it cannot handle.
struct PayloadFailure {
  Operation *op = nullptr;
  std::string reason;
  explicit operator bool() const { return op; }
};

FailureOr<Value> emitPayloadAdjoint(OpBuilder &b, Location loc, const StructuredInfo &info,
                                    IRMapping &mapping, Value source, Type element,
                                    ArrayRef<std::optional<unsigned>> adjointSlots,
                                    ValueRange args, function_ref<Value(unsigned)> hit,
                                    PayloadFailure &why) {
  auto convert = [&](Value value, Type to) -> Value {
    if (value.getType() == to)
      return value;
    return to.getIntOrFloatBitWidth() < value.getType().getIntOrFloatBitWidth()
               ? arith::TruncFOp::create(b, loc, to, value).getResult()
               : arith::ExtFOp::create(b, loc, to, value).getResult();
  };
  SmallVector<Value> needed = {source};
  for (unsigned r = 0; r < info.combiners.size(); ++r)
    if (adjointSlots[r])
      needed.push_back(info.resultValue(r));
  SmallVector<Operation *> slice = payloadSlice(info.body, needed, {});
  SmallVector<Operation *> clones;
  for (Operation *payloadOp : slice) {
    for (Value operand : payloadOp->getOperands())
      if (auto arg = dyn_cast<BlockArgument>(operand);
          arg && arg.getOwner() == info.body && !mapping.contains(arg)) {
        why = {payloadOp, "no gradient rule: the payload computes a differentiated value from "
                          "an accumulator"};
        return failure();
      }
    clones.push_back(b.clone(*payloadOp, mapping));
  }
  Value sourceValue = mapping.lookupOrDefault(source);
  // Only values computed from the source carry adjoints back to it.
  DenseSet<Value> fromSource = {sourceValue};
  for (Operation *clone : clones)
    if (llvm::any_of(clone->getOperands(), [&](Value v) { return fromSource.contains(v); }))
      fromSource.insert(clone->result_begin(), clone->result_end());
  DenseMap<Value, Value> adjointOf;
  auto addAdjoint = [&](Value value, Value adjoint) {
    if (!adjoint || !fromSource.contains(value))
      return;
    adjoint = convert(adjoint, value.getType());
    auto [it, inserted] = adjointOf.try_emplace(value, adjoint);
    if (!inserted)
      it->second = arith::AddFOp::create(b, loc, it->second, adjoint);
  };
  for (unsigned r = 0; r < info.combiners.size(); ++r) {
    if (!adjointSlots[r])
      continue;
    const Combiner &combiner = info.combiners[r];
    Value value = mapping.lookupOrDefault(info.resultValue(r));
    if (!fromSource.contains(value))
      continue;
    Value seed = convert(args[*adjointSlots[r]], value.getType());
    if (combiner.negated)
      seed = arith::NegFOp::create(b, loc, seed);
    if (combiner.kind == Combiner::Extremum)
      seed = arith::SelectOp::create(b, loc, hit(r), seed,
                                     floatConstant(b, loc, seed.getType(), 0.0));
    addAdjoint(value, seed);
  }
  for (auto [forward, clone] : llvm::reverse(llvm::zip(slice, clones))) {
    Value adjoint = clone->getNumResults() == 1 ? adjointOf.lookup(clone->getResult(0)) : Value();
    if (!adjoint || clone->getResult(0) == sourceValue)
      continue;
    FailureOr<SmallVector<Value>> operandAdjoints = adjointsOfOperands(b, clone, adjoint);
    if (failed(operandAdjoints)) {
      why = {forward, (Twine("no derivative for '") + forward->getName().getStringRef() +
                       "' in the payload")
                          .str()};
      return failure();
    }
    for (auto [operand, operandAdjoint] : llvm::zip(clone->getOperands(), *operandAdjoints))
      addAdjoint(operand, operandAdjoint);
  }
  Value total = adjointOf.lookup(sourceValue);
  return total ? convert(total, element) : Value();
}

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

/// `expr` as `d_k` (reversed = false) or `(size - 1) - d_k` (reversed = true).
static std::optional<std::pair<unsigned, bool>> reversedDim(AffineExpr expr, int64_t size) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return std::make_pair(dim.getPosition(), false);
  auto add = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!add || add.getKind() != AffineExprKind::Add)
    return std::nullopt;
  AffineExpr lhs = add.getLHS(), rhs = add.getRHS();
  if (isa<AffineConstantExpr>(lhs))
    std::swap(lhs, rhs);
  auto constant = dyn_cast<AffineConstantExpr>(rhs);
  auto mul = dyn_cast<AffineBinaryOpExpr>(lhs);
  if (!constant || constant.getValue() != size - 1 || !mul || mul.getKind() != AffineExprKind::Mul)
    return std::nullopt;
  auto dim = dyn_cast<AffineDimExpr>(mul.getLHS());
  auto factor = dyn_cast<AffineConstantExpr>(mul.getRHS());
  if (!dim || !factor || factor.getValue() != -1)
    return std::nullopt;
  return std::make_pair(dim.getPosition(), true);
}

/// A copy that reverses (and permutes) dimensions, as aten.flip and a
/// transposed convolution's kernel flip are written: its adjoint is the
/// result's adjoint read back the same way reversed. Returns false for
/// any other op.
bool ReverseMode::visitReversingCopy(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0)
    return false;
  Block *body = generic.getBody();
  if (body->getOperations().size() != 1 || body->getTerminator()->getOperand(0) != body->getArgument(0))
    return false;
  OpOperand *input = op.getDpsInputOperand(0);
  AffineMap in = op.getMatchingIndexingMap(input);
  if (!op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity() ||
      in.getNumResults() != in.getNumDims())
    return false;
  auto inputType = cast<RankedTensorType>(input->get().getType());
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineExpr> reads(in.getNumDims());
  bool reverses = false;
  for (auto [j, expr] : llvm::enumerate(in.getResults())) {
    auto read = reversedDim(expr, inputType.getDimSize(j));
    if (!read || reads[read->first])
      return false;
    AffineExpr index = getAffineDimExpr(j, ctx);
    reads[read->first] = read->second ? getAffineConstantExpr(inputType.getDimSize(j) - 1, ctx) - index
                                      : index;
    reverses |= read->second;
  }
  if (!reverses)
    return false; // a transpose or copy: the general rule covers it
  Value adjoint = adjoints.lookup(op->getResult(0));
  if (adjoint && active.contains(input->get())) {
    Location loc = op.getLoc();
    unsigned rank = inputType.getRank();
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, reads, ctx), b.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    Value init = tensor::EmptyOp::create(b, loc, inputType.getShape(), inputType.getElementType());
    accumulate(input->get(), ampc::buildGeneric(b, loc, adjoint, init, maps, iterators,
                                                [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
  }
  return true;
}

LogicalResult ReverseMode::visitStructured(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return op->emitError("amp-differentiate: needs linalg ops on tensors");
  if (visitReversingCopy(op))
    return success();
  Block *body = op.getBlock();
  // Differentiable tensors the payload reads with tensor.extract (a gather,
  // as torch-mlir writes adaptive pooling) get a scatter-add adjoint; any
  // other use inside the payload has no rule.
  SmallVector<tensor::ExtractOp> extracts;
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  for (Value value : captured) {
    if (!active.contains(value))
      continue;
    for (OpOperand &use : value.getUses()) {
      if (!op->isProperAncestor(use.getOwner()))
        continue;
      auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
      if (!extract || extract->getBlock() != body)
        return use.getOwner()->emitError(
            "amp-differentiate: a differentiable value is used inside the payload other than "
            "by a tensor.extract in the payload itself; pass it as an operand");
      extracts.push_back(extract);
    }
  }
  StructuredInfo info;
  info.op = op;
  info.body = body;
  for (Value result : op->getResults())
    info.resultAdjoints.push_back(adjoints.lookup(result));
  if (op->getNumResults() == 1 && extracts.empty() && visitNamedMatmul(op, info.resultAdjoints))
    return success();

  info.yield = cast<linalg::YieldOp>(body->getTerminator());
  // A result computed from no differentiable operand (an element count
  // beside a sum, an argmax) has a zero gradient: nothing to propagate,
  // whatever its combiner.
  DenseSet<Value> fromActive;
  for (OpOperand &operand : op->getOpOperands())
    if (active.contains(operand.get()) && operand.getOperandNumber() < body->getNumArguments())
      fromActive.insert(body->getArgument(operand.getOperandNumber()));
  for (tensor::ExtractOp extract : extracts)
    fromActive.insert(extract.getResult());
  for (Operation &payloadOp : body->without_terminator())
    if (llvm::any_of(payloadOp.getOperands(), [&](Value v) { return fromActive.contains(v); }))
      fromActive.insert(payloadOp.result_begin(), payloadOp.result_end());
  for (auto [r, yielded] : llvm::enumerate(info.yield.getOperands()))
    if (!fromActive.contains(yielded))
      info.resultAdjoints[r] = Value();
  info.numLoops = op.getNumLoops();
  info.numInputs = op.getNumDpsInputs();
  info.reduces = op.getNumReductionLoops() > 0;
  info.loopSizes = op.getStaticLoopRanges();
  if (llvm::any_of(info.loopSizes, ShapedType::isDynamic))
    return op->emitError("amp-differentiate: needs static shapes");
  unsigned numInits = op.getNumDpsInits();
  info.combiners.resize(numInits);
  info.firstHits.resize(numInits);
  if (info.reduces) {
    if (body->getNumArguments() != info.numInputs + numInits)
      return op->emitError("amp-differentiate: unexpected payload arguments");
    SmallVector<BlockArgument> accumulators(body->getArguments().drop_front(info.numInputs));
    // Only the results whose adjoints are needed must be reductions with a
    // rule: an argmax beside a max (torch-mlir's aten.max.dim) is not.
    for (unsigned r = 0; r < numInits; ++r) {
      if (!info.resultAdjoints[r])
        continue;
      std::string why;
      FailureOr<Combiner> combiner =
          classifyCombiner(body, accumulators[r], info.yield.getOperand(r), accumulators, why);
      if (failed(combiner))
        return op->emitError() << "amp-differentiate: no gradient rule for result #" << r
                               << " of this reduction: " << why;
      info.combiners[r] = *combiner;
      if (combiner->kind == Combiner::Extremum) {
        FailureOr<Value> hits = emitFirstHits(info, r);
        if (failed(hits))
          return failure();
        info.firstHits[r] = *hits;
      }
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
    if (info.reduces && op.isDpsInit(&operand)) {
      unsigned r = index - info.numInputs;
      if (!info.resultAdjoints[r])
        continue;
      if (info.combiners[r].kind != Combiner::Sum)
        return op->emitError("amp-differentiate: the init of a max/min reduction has no gradient rule");
      // result = init + sum(terms): the init receives the result's adjoint.
      accumulate(operand.get(), info.resultAdjoints[r]);
      continue;
    }
    if (failed(adjointOfOperand(info, operand)))
      return failure();
  }
  for (tensor::ExtractOp extract : extracts)
    if (failed(adjointOfExtract(info, extract)))
      return failure();
  return success();
}

/// For a max/min result: which element of each window is its first
/// extremum. A reduction of (value, linear index) pairs in the op's own
/// loops, starting from the op's init with index -1: a later element takes
/// over when it is strictly better, or equal with a smaller index (so the
/// order the loops run in does not matter), or NaN where the value is not.
/// Computed from the forward values themselves, not compared with the
/// result, so it holds whatever precision autocast gives either op.
FailureOr<Value> ReverseMode::emitFirstHits(const StructuredInfo &info, unsigned r) {
  linalg::LinalgOp op = info.op;
  Location loc = op.getLoc();
  const Combiner &combiner = info.combiners[r];
  OpOperand &init = op.getDpsInitsMutable()[r];
  auto resultType = cast<RankedTensorType>(op->getResult(r).getType());
  AffineMap initMap = op.getMatchingIndexingMap(&init);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    inputs.push_back(input->get());
    maps.push_back(op.getMatchingIndexingMap(input));
  }
  maps.append({initMap, initMap});
  auto indexType = RankedTensorType::get(resultType.getShape(), b.getI64Type());
  Value noHit = filledWith(b, loc, indexType, b.getI64IntegerAttr(-1));
  SmallVector<Operation *> slice = payloadSlice(info.body, combiner.term, {});
  Operation *unmapped = nullptr;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType, indexType}, inputs, ValueRange{init.get(), noHit}, maps,
      op.getIteratorTypesArray(), [&](OpBuilder &nb, Location nl, ValueRange args) {
        IRMapping mapping;
        for (unsigned i = 0; i < info.numInputs; ++i)
          mapping.map(info.body->getArgument(i), args[i]);
        for (Operation *payloadOp : slice) {
          for (Value operand : payloadOp->getOperands())
            if (auto arg = dyn_cast<BlockArgument>(operand);
                arg && arg.getOwner() == info.body && !mapping.contains(arg))
              unmapped = payloadOp;
          nb.clone(*payloadOp, mapping);
        }
        Value term = mapping.lookupOrDefault(combiner.term);
        Value best = args[info.numInputs], bestIndex = args[info.numInputs + 1];
        if (term.getType() != best.getType())
          term = arith::ExtFOp::create(nb, nl, best.getType(), term);
        Value index = reductionLinearIndex(nb, nl, info, [&](unsigned d) -> Value {
          return linalg::IndexOp::create(nb, nl, d);
        });
        using P = arith::CmpFPredicate;
        auto cmpf = [&](P pred, Value x, Value y) -> Value {
          return arith::CmpFOp::create(nb, nl, pred, x, y);
        };
        auto andi = [&](Value x, Value y) -> Value { return arith::AndIOp::create(nb, nl, x, y); };
        auto ori = [&](Value x, Value y) -> Value { return arith::OrIOp::create(nb, nl, x, y); };
        Value better = cmpf(combiner.isMax ? P::OGT : P::OLT, term, best);
        Value earlier = andi(arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, bestIndex,
                                                   arith::ConstantIntOp::create(nb, nl, -1, 64)),
                             arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, index,
                                                   bestIndex));
        Value tie = andi(cmpf(P::OEQ, term, best), earlier);
        Value nan = andi(cmpf(P::UNO, term, term), cmpf(P::ORD, best, best));
        Value take = ori(ori(better, tie), nan);
        linalg::YieldOp::create(nb, nl,
                                ValueRange{arith::SelectOp::create(nb, nl, take, term, best),
                                           arith::SelectOp::create(nb, nl, take, index, bestIndex)});
      });
  if (unmapped) {
    generic->erase();
    return unmapped->emitError("amp-differentiate: the value a max/min reduction folds in reads "
                               "an accumulator"),
           failure();
  }
  return generic.getResult(1);
}

LogicalResult ReverseMode::adjointOfOperand(const StructuredInfo &info, OpOperand &target) {
  linalg::LinalgOp op = info.op;
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  Block *body = info.body;
  unsigned numLoops = info.numLoops;
  unsigned numInputs = info.numInputs;
  bool reduces = info.reduces;
  ArrayRef<Value> resultAdjoints = info.resultAdjoints;
  ArrayRef<int64_t> loopSizes = info.loopSizes;
  auto targetType = cast<RankedTensorType>(target.get().getType());
  if (!isa<FloatType>(targetType.getElementType()))
    return success(); // Integer operands have no gradient.
  AffineMap targetMap = op.getMatchingIndexingMap(&target);

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
  auto addResultIndexed = [&](Value value, AffineMap map, TypedAttr fill = {}) -> unsigned {
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
    return addInput(spreadOut(b, loc, value, spreads, fill), AffineMap::get(numLoops, 0, exprs, ctx));
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
  SmallVector<std::optional<unsigned>> adjointSlots(op.getNumDpsInits()), hitSlots(op.getNumDpsInits());
  for (OpOperand &init : op.getDpsInitsMutable()) {
    unsigned r = init.getOperandNumber() - numInputs;
    unsigned index = init.getOperandNumber();
    BlockArgument arg = index < body->getNumArguments() ? body->getArgument(index) : nullptr;
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!reduces && arg && !arg.use_empty())
      slots.push_back({arg, addInput(init.get(), map)});
    if (!resultAdjoints[r])
      continue;
    adjointSlots[r] = addResultIndexed(resultAdjoints[r], map);
    // Spread-out positions that no window result lands on match no element.
    if (info.firstHits[r])
      hitSlots[r] = addResultIndexed(info.firstHits[r], map, b.getI64IntegerAttr(-1));
  }
  // Loop indices inside the payload mean something else once a window's
  // output loop runs over the operand.
  if (!windows.empty() &&
      !body->getOps<linalg::IndexOp>().empty())
    return op->emitError("amp-differentiate: no gradient rule for operand ")
           << target.getOperandNumber() << ": the payload of a windowed op reads loop indices";

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

  PayloadFailure unsupported;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{adjointType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        IRMapping mapping;
        for (auto [forward, slot] : slots)
          mapping.map(forward, args[slot]);
        Type element = targetType.getElementType();
        // The forward index of a window's kernel loop runs the other way
        // (the kernel is flipped in the transposed convolution).
        auto forwardIndex = [&](unsigned d) -> Value {
          Value index = linalg::IndexOp::create(nb, nl, d);
          const Window *window = windowOf(d, /*kernel=*/true);
          if (!window)
            return index;
          Value last = arith::ConstantIndexOp::create(nb, nl, loopSizes[d] - 1);
          return arith::SubIOp::create(nb, nl, last, index);
        };
        auto hit = [&](unsigned r) -> Value {
          Value index = reductionLinearIndex(nb, nl, info, forwardIndex);
          return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, index, args[*hitSlots[r]]);
        };
        FailureOr<Value> total =
            emitPayloadAdjoint(nb, nl, info, mapping, body->getArgument(target.getOperandNumber()),
                               element, adjointSlots, args, hit, unsupported);
        Value sum = succeeded(total) && *total ? *total : floatConstant(nb, nl, element, 0.0);
        if (accumulates)
          sum = arith::AddFOp::create(nb, nl, args.back(), sum);
        linalg::YieldOp::create(nb, nl, sum);
      });
  if (unsupported) {
    generic->erase();
    return op->emitError() << "amp-differentiate: " << unsupported.reason;
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


/// The adjoint of a tensor the payload gathers from (`tensor.extract` at
/// indices the payload computes): per iteration of the op, the
/// contribution adjoint * d results / d element and the element's indices,
/// computed by a generic over the op's loops; then a scatter-add of the
/// contributions into a zero tensor, as loops (indices out of bounds, where
/// the payload's own select discards the element, are skipped).
LogicalResult ReverseMode::adjointOfExtract(const StructuredInfo &info,
                                            tensor::ExtractOp extract) {
  linalg::LinalgOp op = info.op;
  Location loc = extract.getLoc();
  Value source = extract.getTensor();
  auto sourceType = cast<RankedTensorType>(source.getType());
  Type element = sourceType.getElementType();
  if (!isa<FloatType>(element))
    return success();
  unsigned numLoops = info.numLoops;
  Block *body = info.body;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<std::pair<Value, unsigned>> slots;
  auto addInput = [&](Value value, AffineMap map) {
    inputs.push_back(value);
    maps.push_back(map);
    return static_cast<unsigned>(inputs.size() - 1);
  };
  for (OpOperand *input : op.getDpsInputOperands()) {
    unsigned slot = addInput(input->get(), op.getMatchingIndexingMap(input));
    if (input->getOperandNumber() < body->getNumArguments())
      slots.push_back({body->getArgument(input->getOperandNumber()), slot});
  }
  unsigned numInits = op.getNumDpsInits();
  SmallVector<std::optional<unsigned>> adjointSlots(numInits), hitSlots(numInits);
  for (OpOperand &init : op.getDpsInitsMutable()) {
    unsigned r = init.getOperandNumber() - info.numInputs;
    AffineMap map = op.getMatchingIndexingMap(&init);
    BlockArgument arg = init.getOperandNumber() < body->getNumArguments()
                            ? body->getArgument(init.getOperandNumber())
                            : nullptr;
    if (!info.reduces && arg && !arg.use_empty())
      slots.push_back({arg, addInput(init.get(), map)});
    if (!info.resultAdjoints[r])
      continue;
    adjointSlots[r] = addInput(info.resultAdjoints[r], map);
    if (info.firstHits[r])
      hitSlots[r] = addInput(info.firstHits[r], map);
  }
  // Outputs over the whole iteration space: the contribution and each index.
  AffineMap all = b.getMultiDimIdentityMap(numLoops);
  unsigned rank = sourceType.getRank();
  SmallVector<Type> resultTypes = {RankedTensorType::get(info.loopSizes, element)};
  SmallVector<Value> inits = {
      tensor::EmptyOp::create(b, loc, info.loopSizes, element).getResult()};
  for (unsigned k = 0; k < rank; ++k) {
    resultTypes.push_back(RankedTensorType::get(info.loopSizes, b.getI64Type()));
    inits.push_back(tensor::EmptyOp::create(b, loc, info.loopSizes, b.getI64Type()));
  }
  maps.append(rank + 1, all);
  SmallVector<utils::IteratorType> parallel(numLoops, utils::IteratorType::parallel);
  PayloadFailure unsupported;
  auto generic = linalg::GenericOp::create(
      b, loc, resultTypes, inputs, inits, maps, parallel,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        IRMapping mapping;
        for (auto [forward, slot] : slots)
          mapping.map(forward, args[slot]);
        auto hit = [&](unsigned r) -> Value {
          Value index = reductionLinearIndex(nb, nl, info, [&](unsigned d) -> Value {
            return linalg::IndexOp::create(nb, nl, d);
          });
          return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, index, args[*hitSlots[r]]);
        };
        FailureOr<Value> total = emitPayloadAdjoint(nb, nl, info, mapping, extract.getResult(),
                                                    element, adjointSlots, args, hit, unsupported);
        SmallVector<Value> yielded = {succeeded(total) && *total ? *total
                                                                 : floatConstant(nb, nl, element, 0.0)};
        for (Value index : extract.getIndices())
          yielded.push_back(arith::IndexCastOp::create(nb, nl, nb.getI64Type(),
                                                       mapping.lookupOrDefault(index)));
        linalg::YieldOp::create(nb, nl, yielded);
      });
  if (unsupported) {
    generic->erase();
    return op->emitError() << "amp-differentiate: " << unsupported.reason;
  }

  // The scatter-add, over every iteration of the op.
  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t size : info.loopSizes) {
    lbs.push_back(zero);
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, size));
    steps.push_back(one);
  }
  Value initial = zerosOf(b, loc, sourceType);
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{initial},
      [&](OpBuilder &nb, Location nl, ValueRange ivs, ValueRange iterArgs) -> scf::ValueVector {
        Value acc = iterArgs[0];
        Value contribution = tensor::ExtractOp::create(nb, nl, generic.getResult(0), ivs);
        SmallVector<Value> indices;
        Value inBounds;
        for (unsigned k = 0; k < rank; ++k) {
          Value index = arith::IndexCastOp::create(
              nb, nl, nb.getIndexType(), tensor::ExtractOp::create(nb, nl, generic.getResult(k + 1), ivs));
          Value size = arith::ConstantIndexOp::create(nb, nl, sourceType.getDimSize(k));
          // One unsigned comparison: negative indices wrap to large ones.
          Value ok = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, index, size);
          inBounds = inBounds ? arith::AndIOp::create(nb, nl, inBounds, ok).getResult() : ok;
          indices.push_back(index);
        }
        if (!inBounds)
          inBounds = arith::ConstantIntOp::create(nb, nl, 1, 1);
        auto ifOp = scf::IfOp::create(
            nb, nl, inBounds,
            [&](OpBuilder &tb, Location tl) {
              Value old = tensor::ExtractOp::create(tb, tl, acc, indices);
              Value sum = arith::AddFOp::create(tb, tl, old, contribution);
              scf::YieldOp::create(tb, tl, tensor::InsertOp::create(tb, tl, sum, acc, indices).getResult());
            },
            [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, acc); });
        return {ifOp.getResult(0)};
      });
  accumulate(source, nest.results.front());
  return success();
}

} // namespace

/// The ops [begin, end) computed the adjoints of `forward`'s operands: they
/// carry its precision pin (PyTorch runs the backward of an op in the
/// precision the op ran in), and a location that says they are its backward
/// (`fused<{amp.adjoint_of = "<op>"}>[forward's location]`), which
/// diagnostics still show as the forward op's place and the autocast report
/// reads.
static void markAdjointOps(Operation *forward, Block::iterator begin, Block::iterator end) {
  MLIRContext *ctx = forward->getContext();
  Attribute pin = forward->getAttr(ampc::amp::AMPDialect::kPrecisionAttrName);
  auto origin = DictionaryAttr::get(
      ctx, {NamedAttribute(StringAttr::get(ctx, ampc::amp::AMPDialect::kAdjointOfAttrName),
                           StringAttr::get(ctx, forward->getName().getStringRef()))});
  Location loc = FusedLoc::get(ctx, {forward->getLoc()}, origin);
  auto isF32 = [](Type type) { return getElementTypeOrSelf(type).isF32(); };
  for (Operation &op : llvm::make_range(begin, end)) {
    // Only ops that compute in f32 (what autocast decides); a pin on a
    // tensor.empty would say nothing.
    bool computes = llvm::any_of(op.getOperandTypes(), isF32) &&
                    llvm::any_of(op.getResultTypes(), isF32);
    if (pin && computes && !op.hasAttr(ampc::amp::AMPDialect::kPrecisionAttrName))
      op.setAttr(ampc::amp::AMPDialect::kPrecisionAttrName, pin);
    op.walk([&](Operation *nested) { nested->setLoc(loc); });
  }
}

FailureOr<SmallVector<Value>> ampc::emitReverseMode(OpBuilder &builder, Value target,
                                                    Value targetAdjoint, ArrayRef<Value> wrt) {
  Block *block = builder.getInsertionBlock();
  SmallVector<Operation *> forward;
  for (Operation &op : llvm::make_range(block->begin(), builder.getInsertionPoint()))
    forward.push_back(&op);

  ReverseMode reverse(builder);
  reverse.active.insert(wrt.begin(), wrt.end());
  for (Operation *op : forward) {
    // A stop-gradient's result is a constant to the backward (detach).
    if (isa<amp::StopGradientOp>(op))
      continue;
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
    Block::iterator end = builder.getInsertionPoint();
    Operation *last = end == block->begin() ? nullptr : &*std::prev(end);
    if (failed(reverse.visit(op)))
      return failure();
    markAdjointOps(op, last ? std::next(last->getIterator()) : block->begin(),
                   builder.getInsertionPoint());
  }
  for (auto [i, value] : llvm::enumerate(wrt))
    gradients[i] = reverse.adjoints.lookup(value);
  return gradients;
}
