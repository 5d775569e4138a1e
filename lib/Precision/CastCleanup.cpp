//===- CastCleanup.cpp - the amp-cast-cleanup pass --------------------------===//

#include "ampc/Precision/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCASTCLEANUP
#include "ampc/Precision/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {
/// cast(linalg.fill(%s, %init)) becomes linalg.fill(cast(%s), cast(%init)):
/// a filled tensor is cast by casting its scalar (which then folds).
struct CastOfFill : OpRewritePattern<amp::CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(amp::CastOp op,
                                PatternRewriter &rewriter) const override {
    auto fill = op.getInput().getDefiningOp<linalg::FillOp>();
    if (!fill || fill.getNumResults() != 1 || !fill.hasPureTensorSemantics())
      return failure();
    Type elt = getElementTypeOrSelf(op.getType());
    Value scalar = fill.value();
    Value init = fill.output();
    Location loc = op.getLoc();
    Value newScalar = scalar.getType() == elt
                          ? scalar
                          : amp::CastOp::create(rewriter, loc, elt, scalar).getResult();
    Value newInit = amp::CastOp::create(
        rewriter, loc, amp::withElementType(init.getType(), elt), init);
    rewriter.replaceOpWithNewOp<linalg::FillOp>(op, newScalar, newInit);
    return success();
  }
};
} // namespace

void ampc::populateCastCleanupPatterns(RewritePatternSet &patterns) {
  amp::CastOp::getCanonicalizationPatterns(patterns, patterns.getContext());
  patterns.add<CastOfFill>(patterns.getContext());
}

/// Where a cast of `value` dominates every use of `value`.
static void moveRightAfterDefinition(Operation *cast, Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    Block *block = arg.getOwner();
    cast->moveBefore(block, block->begin());
  } else {
    cast->moveAfter(value.getDefiningOp());
  }
}

namespace {
/// Keeps a set of ops free of ops the rewriter erased.
struct ErasedOpTracker : public RewriterBase::Listener {
  explicit ErasedOpTracker(llvm::SetVector<Operation *> &ops) : ops(ops) {}
  void notifyOperationErased(Operation *op) override { ops.remove(op); }
  llvm::SetVector<Operation *> &ops;
};

struct CastCleanupPass : public ampc::impl::AMPCastCleanupBase<CastCleanupPass> {
  using AMPCastCleanupBase::AMPCastCleanupBase;

  void runOnOperation() override {
    Operation *root = getOperation();
    SmallVector<Operation *> casts;
    llvm::SetVector<Operation *> sources;
    root->walk([&](amp::CastOp cast) {
      casts.push_back(cast);
      if (Operation *def = cast.getInput().getDefiningOp())
        sources.insert(def);
    });
    size_t before = casts.size();

    // Fold and canonicalize the casts (and what they create) only: the rest of
    // the IR is the user's.
    RewritePatternSet patterns(&getContext());
    populateCastCleanupPatterns(patterns);
    ErasedOpTracker tracker(sources);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    config.setListener(&tracker);
    (void)applyOpPatternsGreedily(casts, std::move(patterns), config);

    // Constants, fills and empty tensors that only fed folded casts are dead
    // now; erasing one can make the next dead (fill, then its tensor.empty).
    // Only ops that were used before are candidates, so dead code the user
    // wrote stays.
    SmallVector<Operation *> worklist(sources.begin(), sources.end());
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!sources.contains(op) || !op->use_empty() || !isPure(op))
        continue;
      sources.remove(op);
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp()) {
          sources.insert(def);
          worklist.push_back(def);
        }
      op->erase();
    }

    // One cast per (value, type), placed where it dominates every use.
    DenseMap<std::pair<Value, Type>, amp::CastOp> firstCast;
    SmallVector<amp::CastOp> duplicates;
    size_t after = 0;
    root->walk([&](amp::CastOp cast) {
      ++after;
      auto key = std::make_pair(cast.getInput(), cast.getType());
      auto [it, inserted] = firstCast.try_emplace(key, cast);
      if (!inserted)
        duplicates.push_back(cast);
    });
    for (amp::CastOp duplicate : duplicates) {
      amp::CastOp kept = firstCast.lookup(
          std::make_pair(duplicate.getInput(), duplicate.getType()));
      moveRightAfterDefinition(kept, kept.getInput());
      duplicate.replaceAllUsesWith(kept.getResult());
      duplicate.erase();
      ++numMerged;
    }
    numFolded += before > after ? before - after : 0;
  }
};
} // namespace
