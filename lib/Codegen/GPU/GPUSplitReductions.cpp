//===- GPUSplitReductions.cpp - the amp-gpu-split-reductions pass -----------===//
//
// A reduction of everything into a scalar has no parallel loop for GPU
// threads; split it into a parallel partial reduction and a small final one.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUSPLITREDUCTIONS
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Final stages at most this long run in one thread.
constexpr int64_t kSerialLimit = 256;

/// The combiner of a full reduction: the yielded op, which combines the
/// accumulator (block argument `acc`) with a value from the body.
struct Combiner {
  Operation *op = nullptr;
  /// subf(acc, x): partial results add up, the final stage subtracts.
  bool subtracts = false;
};

std::optional<Combiner> matchCombiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return std::nullopt;
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body || combiner->getNumOperands() != 2)
    return std::nullopt;
  Value acc = body.getArguments().back();
  // The accumulator feeds only the combiner, so partial sums may start
  // anywhere.
  if (!acc.hasOneUse())
    return std::nullopt;
  if (isa<arith::AddFOp, arith::MulFOp, arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
          arith::MinNumFOp, arith::AndIOp, arith::OrIOp, arith::AddIOp, arith::MulIOp>(combiner) &&
      llvm::is_contained(combiner->getOperands(), acc))
    return Combiner{combiner, false};
  if (isa<arith::SubFOp>(combiner) && combiner->getOperand(0) == acc)
    return Combiner{combiner, true};
  return std::nullopt;
}

/// The neutral element of the partial stage.
TypedAttr neutral(Combiner combiner, Type elementType) {
  if (auto integer = dyn_cast<IntegerType>(elementType)) {
    unsigned width = integer.getWidth();
    if (isa<arith::AndIOp>(combiner.op))
      return IntegerAttr::get(integer, APInt::getAllOnes(width));
    if (isa<arith::MulIOp>(combiner.op))
      return IntegerAttr::get(integer, APInt(width, 1));
    return IntegerAttr::get(integer, APInt(width, 0));
  }
  auto type = cast<FloatType>(elementType);
  const llvm::fltSemantics &semantics = type.getFloatSemantics();
  if (isa<arith::MulFOp>(combiner.op))
    return FloatAttr::get(type, 1.0);
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner.op))
    return FloatAttr::get(type, APFloat::getInf(semantics, /*Negative=*/true));
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(combiner.op))
    return FloatAttr::get(type, APFloat::getInf(semantics, /*Negative=*/false));
  return FloatAttr::get(type, 0.0);
}

/// A tensor of `sizes` filled with the combiner's neutral element: where
/// partial results start.
Value neutralTensor(OpBuilder &builder, Location loc, ArrayRef<OpFoldResult> sizes,
                    Combiner combiner, Type element) {
  Value empty = tensor::EmptyOp::create(builder, loc, sizes, element);
  Value start = arith::ConstantOp::create(builder, loc, neutral(combiner, element));
  return linalg::FillOp::create(builder, loc, start, empty).getResult(0);
}

/// The largest divisor of `n` in [atLeast, atMost], or 0.
int64_t largestDivisor(int64_t n, int64_t atMost, int64_t atLeast) {
  for (int64_t candidate = atMost; candidate >= atLeast; --candidate)
    if (n % candidate == 0)
      return candidate;
  return 0;
}

/// Is `op` a reduction of every loop into one 0-d tensor?
bool isFullReduction(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 || op.getNumLoops() == 0)
    return false;
  auto type = dyn_cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (!type || type.getRank() != 0 || !isa<FloatType, IntegerType>(type.getElementType()))
    return false;
  return llvm::all_of(op.getIteratorTypesArray(), [](utils::IteratorType t) {
    return t == utils::IteratorType::reduction;
  });
}

/// 1-D full reduction of N > kSerialLimit elements -> the same reduction
/// over [N / c, c]. Null when N has no useful divisor or an input is not
/// elementwise or a 0-d broadcast.
linalg::GenericOp reshapeOneDimensional(OpBuilder &builder, linalg::GenericOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t n = ranges[0];
  if (ShapedType::isDynamic(n) || n <= kSerialLimit)
    return nullptr;
  int64_t chunk = largestDivisor(n, kSerialLimit, 16);
  if (!chunk)
    return nullptr;
  MLIRContext *ctx = op.getContext();
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap scalar2 = AffineMap::get(2, 0, {}, ctx);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  Location loc = op.getLoc();
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    Value value = input->get();
    if (map == id1) {
      auto type = cast<RankedTensorType>(value.getType());
      auto expanded = RankedTensorType::get({n / chunk, chunk}, type.getElementType());
      value = tensor::ExpandShapeOp::create(builder, loc, expanded, value,
                                            ArrayRef<ReassociationIndices>{{0, 1}});
      maps.push_back(id2);
    } else if (map.getNumResults() == 0) {
      maps.push_back(scalar2);
    } else {
      return nullptr;
    }
    inputs.push_back(value);
  }
  maps.push_back(scalar2);
  auto reshaped = linalg::GenericOp::create(
      builder, loc, op.getResultTypes(), inputs, op.getOutputs(), maps,
      SmallVector<utils::IteratorType>(2, utils::IteratorType::reduction));
  IRMapping mapping;
  op.getRegion().cloneInto(&reshaped.getRegion(), mapping);
  return reshaped;
}

/// Gives `partial` the payload of the full reduction `op`, combining from
/// the neutral element: acc - x1 - x2 ... = acc - (x1 + x2 + ...), so a
/// subtracting combiner adds its partial results.
void copyPartialBody(linalg::GenericOp op, linalg::GenericOp partial, Combiner combiner) {
  IRMapping mapping;
  op.getRegion().cloneInto(&partial.getRegion(), mapping);
  if (!combiner.subtracts)
    return;
  Operation *clone = mapping.lookup(combiner.op);
  OpBuilder inner(clone);
  Value sum = arith::AddFOp::create(inner, clone->getLoc(), clone->getOperand(0),
                                    clone->getOperand(1));
  clone->getResult(0).replaceAllUsesWith(sum);
  clone->erase();
}

/// Replaces the full reduction `op` by the combination of every element of
/// `partial` into its accumulator: a full reduction again, which is
/// returned.
linalg::GenericOp combinePartials(OpBuilder &builder, linalg::GenericOp op,
                                  linalg::GenericOp partial, Combiner combiner) {
  MLIRContext *ctx = op.getContext();
  Type element = cast<RankedTensorType>(op.getResultTypes()[0]).getElementType();
  int64_t rank = cast<RankedTensorType>(partial.getResultTypes()[0]).getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
  auto final = linalg::GenericOp::create(
      builder, op.getLoc(), op.getResultTypes(), partial.getResults(), op.getOutputs(),
      ArrayRef<AffineMap>{identity, scalar},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Operation *combined = b.create(l, combiner.op->getName().getIdentifier(),
                                       ValueRange{args[1], args[0]}, TypeRange{element},
                                       combiner.op->getAttrs());
        linalg::YieldOp::create(b, l, combined->getResult(0));
      });
  op->replaceAllUsesWith(final->getResults());
  op->erase();
  return final;
}

/// A 2-D full reduction over R x C with many rows: thread (a, j) reduces
/// rows a*c .. a*c+c-1 of column j, so that neighbouring threads read
/// neighbouring elements (coalesced) and (R / c) * C threads share the
/// work; the [R / c, C] partial results are reduced by the returned final
/// stage. Splitting over rows alone would give R threads, each reading a
/// row in order, with neighbours a row apart. Null (the op left alone)
/// unless the shapes are static, R >= 1024 has a divisor in [8, 64], and
/// every input is indexed by (d0, d1), (d0), (d1) or ().
constexpr int64_t kManyRows = 1024;

linalg::GenericOp splitRowChunks(OpBuilder &builder, linalg::GenericOp op, Combiner combiner) {
  if (op.getNumLoops() != 2)
    return nullptr;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = ranges[0], columns = ranges[1];
  if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(columns) || rows < kManyRows)
    return nullptr;
  int64_t chunk = largestDivisor(rows, 64, 8);
  if (!chunk)
    return nullptr;
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  AffineExpr a = getAffineDimExpr(0, ctx), b = getAffineDimExpr(1, ctx),
             j = getAffineDimExpr(2, ctx);
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    Value value = input->get();
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.hasStaticShape())
      return nullptr;
    ArrayRef<AffineExpr> results = map.getResults();
    if (results.size() == 2 && results[0] == d0 && results[1] == d1) {
      value = tensor::ExpandShapeOp::create(
          builder, loc, RankedTensorType::get({rows / chunk, chunk, columns}, type.getElementType()),
          value, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
      maps.push_back(AffineMap::get(3, 0, {a, b, j}, ctx));
    } else if (results.size() == 1 && results[0] == d0) {
      value = tensor::ExpandShapeOp::create(
          builder, loc, RankedTensorType::get({rows / chunk, chunk}, type.getElementType()), value,
          ArrayRef<ReassociationIndices>{{0, 1}});
      maps.push_back(AffineMap::get(3, 0, {a, b}, ctx));
    } else if (results.size() == 1 && results[0] == d1) {
      maps.push_back(AffineMap::get(3, 0, {j}, ctx));
    } else if (results.empty()) {
      maps.push_back(AffineMap::get(3, 0, {}, ctx));
    } else {
      return nullptr;
    }
    inputs.push_back(value);
  }
  Type element = cast<RankedTensorType>(op.getResultTypes()[0]).getElementType();
  SmallVector<OpFoldResult> partialSizes{builder.getIndexAttr(rows / chunk),
                                         builder.getIndexAttr(columns)};
  Value init = neutralTensor(builder, loc, partialSizes, combiner, element);
  maps.push_back(AffineMap::get(3, 0, {a, j}, ctx));
  auto partial = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::reduction,
                                    utils::IteratorType::parallel});
  copyPartialBody(op, partial, combiner);
  return combinePartials(builder, op, partial, combiner);
}

/// Splits a full reduction (rank >= 2) into partial results over the outer
/// loop (or, for rows longer than kSerialLimit, over the columns) and a 1-D
/// final stage, which it returns (null for a dynamic extent, leaving the op
/// alone).
linalg::GenericOp split(OpBuilder &builder, linalg::GenericOp op, Combiner combiner) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  unsigned numLoops = op.getNumLoops();
  Type element = cast<RankedTensorType>(op.getResultTypes()[0]).getElementType();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // Over the columns of long rows, neighbouring threads read neighbouring
  // elements; over rows, each would walk its own row.
  unsigned parallelDim = numLoops == 2 && ranges[1] > kSerialLimit ? 1 : 0;
  int64_t extent = ranges[parallelDim];
  if (ShapedType::isDynamic(extent))
    return nullptr; // Dynamic shapes reduce in one thread.
  Value init = neutralTensor(builder, loc, {builder.getIndexAttr(extent)}, combiner, element);

  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands())
    maps.push_back(op.getMatchingIndexingMap(input));
  maps.push_back(AffineMap::get(numLoops, 0, {getAffineDimExpr(parallelDim, ctx)}, ctx));
  SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::reduction);
  iterators[parallelDim] = utils::IteratorType::parallel;
  auto partial = linalg::GenericOp::create(builder, loc, TypeRange{init.getType()},
                                           op.getInputs(), ValueRange{init}, maps, iterators);
  copyPartialBody(op, partial, combiner);
  return combinePartials(builder, op, partial, combiner);
}

/// Partial reductions with few parallel iterations and a long reduction (a
/// bias gradient sums 8192 rows into 4096 columns: 4096 threads of 8192
/// steps) become two stages through upstream linalg::splitReduction: the
/// reduction splits into `ratio` parallel chunks, then the chunks combine.
constexpr int64_t kFewThreads = 32768;
constexpr int64_t kLongReduction = 512;

void splitPartialReductions(func::FuncOp function) {
  SmallVector<linalg::GenericOp> candidates;
  function.walk([&](linalg::GenericOp op) {
    if (!op.hasPureTensorSemantics() || op.getNumReductionLoops() != 1 ||
        op.getNumParallelLoops() == 0 || op.getNumDpsInits() != 1)
      return;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return;
    int64_t parallel = 1, reduction = 1;
    for (auto [range, kind] : llvm::zip(ranges, op.getIteratorTypesArray()))
      (kind == utils::IteratorType::parallel ? parallel : reduction) *= range;
    if (parallel < kFewThreads && reduction >= kLongReduction)
      candidates.push_back(op);
  });
  IRRewriter rewriter(function.getContext());
  for (linalg::GenericOp op : candidates) {
    rewriter.setInsertionPoint(op);
    auto control = [](linalg::LinalgOp linalgOp) {
      SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
      SmallVector<unsigned> reductionDims;
      linalgOp.getReductionDims(reductionDims);
      int64_t reduction = ranges[reductionDims.front()];
      // Up to 64 chunks of at least 8 steps.
      int64_t ratio = largestDivisor(reduction, std::min<int64_t>(64, reduction / 8), 4);
      // A reduction along the innermost dimension (a row sum) splits it as
      // [steps, ratio] with the chunks inner, so that neighbouring threads
      // (chunks) read neighbouring elements; otherwise (a column sum, whose
      // threads already read neighbours) as [ratio, steps].
      bool rowReduction = reductionDims.front() == ranges.size() - 1;
      return linalg::SplitReductionOptions{ratio, /*index=*/0, /*innerParallel=*/rowReduction};
    };
    // Unrecognized combiners are left alone: correct, only slower.
    (void)linalg::splitReduction(rewriter, op, control);
  }
}

class GPUSplitReductionsPass
    : public ampc::impl::AMPGPUSplitReductionsBase<GPUSplitReductionsPass> {
public:
  void runOnOperation() override {
    splitPartialReductions(getOperation());
    SmallVector<linalg::GenericOp> worklist;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isFullReduction(op))
        worklist.push_back(op);
    });
    OpBuilder builder(&getContext());
    while (!worklist.empty()) {
      linalg::GenericOp op = worklist.pop_back_val();
      std::optional<Combiner> combiner = matchCombiner(op);
      if (!combiner)
        continue; // Correct in one thread, only slower.
      builder.setInsertionPoint(op);
      if (op.getNumLoops() == 1) {
        linalg::GenericOp reshaped = reshapeOneDimensional(builder, op);
        if (!reshaped)
          continue;
        op->replaceAllUsesWith(reshaped->getResults());
        op->erase();
        op = reshaped;
        builder.setInsertionPoint(op);
        combiner = matchCombiner(op);
      }
      if (linalg::GenericOp final = splitRowChunks(builder, op, *combiner))
        worklist.push_back(final);
      else if (linalg::GenericOp final = split(builder, op, *combiner))
        worklist.push_back(final);
    }
  }
};

} // namespace
