//===- GPUPromoteAccumulators.cpp - the amp-gpu-promote-accumulators pass ---===//
//
// A reduction lowered to loops loads and stores its accumulator in memory on
// every iteration; inside a GPU thread that is a global-memory round trip
// per element, and the store keeps LLVM from hoisting loop-invariant loads
// (it cannot prove they do not alias). This pass carries the accumulator in
// a register (an iter_arg) and stores it once after the loop, then unrolls
// the loop so that a thread has several loads in flight: a GPU thread issues
// in order, and one load per iteration would wait out the memory latency
// each time.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "ampc/Codegen/Common/BufferRoots.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUPROMOTEACCUMULATORS
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// The one load and one store of an accumulator in `loop`'s body.
struct Accumulator {
  memref::LoadOp load;
  memref::StoreOp store;
};

/// Whether `loop` keeps an accumulator in memory that can live in a
/// register: a store in the body (not nested) at loop-invariant indices,
/// preceded by a load of the same element, and no other access to the
/// buffer's allocation in the body. Distinct allocations and distinct
/// function arguments are taken not to alias (the runtime passes distinct
/// buffers, as amp-gpu-library-gemm assumes too).
std::optional<Accumulator> findAccumulator(scf::ForOp loop) {
  Block *body = loop.getBody();
  for (auto store : body->getOps<memref::StoreOp>()) {
    Value memref = store.getMemRef();
    if (!llvm::all_of(store.getIndices(),
                      [&](Value index) { return loop.isDefinedOutsideOfLoop(index); }) ||
        !loop.isDefinedOutsideOfLoop(memref))
      continue;
    memref::LoadOp load;
    for (auto candidate : body->getOps<memref::LoadOp>())
      if (candidate.getMemRef() == memref && candidate.getIndices() == store.getIndices() &&
          candidate->isBeforeInBlock(store))
        load = candidate;
    if (!load)
      continue;
    Value root = rootBuffer(memref);
    bool otherAccess = false;
    loop.getBody()->walk([&](Operation *op) {
      if (op == load || op == store)
        return;
      if (auto effects = dyn_cast<MemoryEffectOpInterface>(op)) {
        SmallVector<MemoryEffects::EffectInstance> instances;
        effects.getEffects(instances);
        for (const MemoryEffects::EffectInstance &effect : instances)
          if (!effect.getValue() || rootBuffer(effect.getValue()) == root)
            otherAccess = true;
        return;
      }
      if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() && !isMemoryEffectFree(op))
        otherAccess = true; // unknown effects
    });
    if (!otherAccess)
      return Accumulator{load, store};
  }
  return std::nullopt;
}

class GPUPromoteAccumulatorsPass
    : public ampc::impl::AMPGPUPromoteAccumulatorsBase<GPUPromoteAccumulatorsPass> {
public:
  using AMPGPUPromoteAccumulatorsBase::AMPGPUPromoteAccumulatorsBase;

  void runOnOperation() override {
    // Innermost loops first: an outer loop's accumulator may then show.
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : loops) {
      while (std::optional<Accumulator> accumulator = findAccumulator(loop)) {
        memref::LoadOp load = accumulator->load;
        memref::StoreOp store = accumulator->store;
        rewriter.setInsertionPoint(loop);
        Value initial = memref::LoadOp::create(rewriter, load.getLoc(), load.getMemRef(),
                                               load.getIndices());
        Value updated = store.getValueToStore();
        auto yields = [&](OpBuilder &, Location, ArrayRef<BlockArgument> carried) {
          rewriter.replaceAllUsesWith(load.getResult(), carried.front());
          return SmallVector<Value>{updated};
        };
        FailureOr<LoopLikeOpInterface> replaced =
            cast<LoopLikeOpInterface>(loop.getOperation())
                .replaceWithAdditionalYields(rewriter, initial,
                                             /*replaceInitOperandUsesInLoop=*/false, yields);
        if (failed(replaced))
          break;
        auto newLoop = cast<scf::ForOp>(replaced->getOperation());
        rewriter.setInsertionPointAfter(newLoop);
        memref::StoreOp::create(rewriter, store.getLoc(), newLoop.getResults().back(),
                                store.getMemRef(), store.getIndices());
        rewriter.eraseOp(store);
        rewriter.eraseOp(load);
        loop = newLoop;
        ++numPromoted;
      }
      if (loop.getNumRegionIterArgs() == 0 || unrollFactor < 2)
        continue;
      // Only constant trip counts that the factor divides: no remainder
      // loop to run.
      std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
      std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
      std::optional<int64_t> step = getConstantIntValue(loop.getStep());
      if (!lower || !upper || !step || *step <= 0)
        continue;
      int64_t trips = (*upper - *lower + *step - 1) / *step;
      if (trips < 2 * unrollFactor || trips % unrollFactor != 0)
        continue;
      if (succeeded(loopUnrollByFactor(loop, unrollFactor)))
        ++numUnrolled;
    }
  }
};

} // namespace
