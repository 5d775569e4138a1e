//===- CPUParallelLoops.cpp - the amp-cpu-parallel-loops pass ---------------===//
//
// Chooses the scf.parallel loops that convert-scf-to-openmp splits over the
// cores: outermost ones with enough work to pay for waking the thread pool.
// Every other scf.parallel (nested in another loop, or small) becomes a
// nest of scf.for, so that no thread team is forked inside a loop.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUPARALLELLOOPS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Parallel iterations enough to balance the threads of any CPU ampc
/// targets (a few chunks per thread at 64 threads).
constexpr int64_t kChunks = 256;

/// Iterations of a loop with constant bounds; nullopt when not constant.
std::optional<int64_t> tripCount(Value lower, Value upper, Value step) {
  std::optional<int64_t> lb = getConstantIntValue(lower), ub = getConstantIntValue(upper),
                         st = getConstantIntValue(step);
  if (!lb || !ub || !st || *st <= 0)
    return std::nullopt;
  return *ub <= *lb ? 0 : (*ub - *lb + *st - 1) / *st;
}

/// The work in `loop`: its iterations times those of the loops it holds
/// (unknown bounds count as plenty).
int64_t work(scf::ParallelOp loop, int64_t plenty) {
  int64_t total = 1;
  auto scale = [&](std::optional<int64_t> count) {
    total = count ? std::min(plenty, total * std::max<int64_t>(*count, 1)) : plenty;
  };
  for (auto [lb, ub, st] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep()))
    scale(tripCount(lb, ub, st));
  loop.getBody()->walk([&](Operation *op) {
    if (auto inner = dyn_cast<scf::ForOp>(op))
      scale(tripCount(inner.getLowerBound(), inner.getUpperBound(), inner.getStep()));
    else if (auto inner = dyn_cast<scf::ParallelOp>(op))
      for (auto [lb, ub, st] :
           llvm::zip(inner.getLowerBound(), inner.getUpperBound(), inner.getStep()))
        scale(tripCount(lb, ub, st));
  });
  return total;
}

/// Replaces a reduction-free scf.parallel by nested scf.for loops, keeping
/// its first `keep` dimensions as an scf.parallel around them.
void sequentialize(scf::ParallelOp loop, unsigned keep = 0) {
  OpBuilder builder(loop);
  Location loc = loop.getLoc();
  IRMapping mapping;
  auto lbs = loop.getLowerBound(), ubs = loop.getUpperBound(), steps = loop.getStep();
  auto ivs = loop.getInductionVars();
  if (keep) {
    auto outer = scf::ParallelOp::create(builder, loc, lbs.take_front(keep), ubs.take_front(keep),
                                         steps.take_front(keep));
    for (unsigned d = 0; d < keep; ++d)
      mapping.map(ivs[d], outer.getInductionVars()[d]);
    builder.setInsertionPoint(outer.getBody()->getTerminator());
  }
  for (unsigned d = keep; d < ivs.size(); ++d) {
    auto inner = scf::ForOp::create(builder, loc, lbs[d], ubs[d], steps[d]);
    mapping.map(ivs[d], inner.getInductionVar());
    builder.setInsertionPoint(inner.getBody()->getTerminator());
  }
  for (Operation &op : loop.getBody()->without_terminator())
    builder.clone(op, mapping);
  loop->erase();
}

/// How many outer dimensions of `loop` to split over the threads: the
/// fewest whose iterations reach `chunks` (all if they never do). The
/// inner ones stay sequential, where LLVM vectorizes the innermost over
/// contiguous elements; a collapsed OpenMP nest recomputes every index
/// with divisions instead.
unsigned outerDimsFor(scf::ParallelOp loop, int64_t chunks) {
  int64_t iterations = 1;
  unsigned dims = 0;
  for (auto [lb, ub, st] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    ++dims;
    std::optional<int64_t> count = tripCount(lb, ub, st);
    if (!count)
      return dims;
    iterations *= std::max<int64_t>(*count, 1);
    if (iterations >= chunks)
      return dims;
  }
  return dims;
}

struct CPUParallelLoopsPass
    : public ampc::impl::AMPCPUParallelLoopsBase<CPUParallelLoopsPass> {
  using AMPCPUParallelLoopsBase::AMPCPUParallelLoopsBase;

  void runOnOperation() override {
    SmallVector<scf::ParallelOp> serial, parallel;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (!loop.getInitVals().empty())
        return; // reductions: left to convert-scf-to-openmp as they are
      bool nested = loop->getParentOfType<scf::ForOp>() || loop->getParentOfType<scf::ParallelOp>() ||
                    loop->getParentOfType<scf::WhileOp>();
      if (nested || work(loop, minIterations) < minIterations)
        serial.push_back(loop);
      else
        parallel.push_back(loop);
    });
    // The walk visits inner loops first: an outer loop is cloned after the
    // loops in its body were rewritten.
    for (scf::ParallelOp loop : serial) {
      sequentialize(loop);
      ++numSerial;
    }
    for (scf::ParallelOp loop : parallel) {
      unsigned keep = outerDimsFor(loop, kChunks);
      if (keep < loop.getNumLoops())
        sequentialize(loop, keep);
      ++numParallel;
    }
  }
};

} // namespace
