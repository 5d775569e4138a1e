//===- CastCleanup.cpp - the amp-cast-cleanup pass --------------------------===//

#include "ampc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCASTCLEANUP
#include "ampc/Transforms/Passes.h.inc"
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
    Value newInit = amp::CastOp::create(rewriter, loc, elt, init);
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
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(casts, std::move(patterns), config);

    // Constants and empty tensors that only fed folded casts are dead now.
    for (Operation *source : sources)
      if (source->use_empty() && isPure(source) && source->getNumRegions() == 0)
        source->erase();

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
