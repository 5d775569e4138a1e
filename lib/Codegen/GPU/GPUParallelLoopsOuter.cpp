//===- GPUParallelLoopsOuter.cpp - the amp-gpu-parallel-loops-outer pass ----===//
//
// Parallel loops first, so that they all map to GPU blocks and threads and
// reductions run inside each thread.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUPARALLELLOOPSOUTER
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

class GPUParallelLoopsOuterPass
    : public ampc::impl::AMPGPUParallelLoopsOuterBase<GPUParallelLoopsOuterPass> {
public:
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      SmallVector<unsigned> order;
      for (auto [i, kind] : llvm::enumerate(iterators))
        if (kind == utils::IteratorType::parallel)
          order.push_back(i);
      for (auto [i, kind] : llvm::enumerate(iterators))
        if (kind != utils::IteratorType::parallel)
          order.push_back(i);
      bool alreadyOuter = llvm::equal(order, llvm::seq<unsigned>(0, iterators.size()));
      if (alreadyOuter)
        continue;
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> generalized = linalg::generalizeNamedOp(rewriter, op);
        if (failed(generalized))
          continue; // Lowered as it is: correct, with host-side loops.
        generic = *generalized;
      }
      if (failed(linalg::interchangeGenericOp(rewriter, generic, order))) {
        generic.emitError("ampc: cannot interchange the loops of this op");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
