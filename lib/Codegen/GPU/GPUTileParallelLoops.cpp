//===- GPUTileParallelLoops.cpp - the amp-gpu-tile-parallel-loops pass ------===//
//
// Rank-aware thread-block tiling of parallel loops for the GPU mapping.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUTILEPARALLELLOOPS
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// The static trip count of dimension `i`, or nullopt.
std::optional<int64_t> tripCount(scf::ParallelOp op, unsigned i) {
  std::optional<int64_t> lower = getConstantIntValue(op.getLowerBound()[i]);
  std::optional<int64_t> upper = getConstantIntValue(op.getUpperBound()[i]);
  std::optional<int64_t> step = getConstantIntValue(op.getStep()[i]);
  if (!lower || !upper || !step || *step <= 0)
    return std::nullopt;
  return (*upper - *lower + *step - 1) / *step;
}

class GPUTileParallelLoopsPass
    : public ampc::impl::AMPGPUTileParallelLoopsBase<GPUTileParallelLoopsPass> {
public:
  using AMPGPUTileParallelLoopsBase::AMPGPUTileParallelLoopsBase;

  void runOnOperation() override {
    if (blockSize < 1) {
      getOperation().emitError("amp-gpu-tile-parallel-loops: block-size must be positive");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>())
        outermost.push_back(op);
    });
    for (scf::ParallelOp op : outermost) {
      unsigned rank = op.getNumLoops();
      SmallVector<int64_t> tiles(rank, 1);
      if (rank == 1) {
        tiles[0] = blockSize;
      } else {
        int64_t inner = std::min<int64_t>(64, blockSize);
        if (std::optional<int64_t> n = tripCount(op, rank - 1))
          inner = std::min<int64_t>(inner, llvm::PowerOf2Ceil(std::max<int64_t>(*n, 1)));
        tiles[rank - 1] = inner;
        tiles[rank - 2] = std::max<int64_t>(1, blockSize / inner);
      }
      scf::tileParallelLoop(op, tiles, /*noMinMaxBounds=*/true);
    }
    guardAsserts();
  }

private:
  /// Upstream's convert-parallel-loops-to-gpu leaves a loop on the host when
  /// its body holds a bare cf.assert (a bounds check in an embedding lookup)
  /// but converts it when the assert sits in an scf.if, as it does wherever
  /// a tile is guarded: whether a program compiled depended on its shapes.
  /// `cf.assert %ok` becomes `scf.if !%ok { cf.assert false }`, the same check.
  void guardAsserts() {
    SmallVector<cf::AssertOp> asserts;
    getOperation().walk([&](cf::AssertOp op) {
      if (isa<scf::ParallelOp>(op->getParentOp()))
        asserts.push_back(op);
    });
    for (cf::AssertOp op : asserts) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value yes = arith::ConstantIntOp::create(b, loc, 1, 1);
      Value failing = arith::XOrIOp::create(b, loc, op.getArg(), yes);
      auto guard = scf::IfOp::create(b, loc, failing, /*withElseRegion=*/false);
      b.setInsertionPointToStart(guard.thenBlock());
      Value no = arith::ConstantIntOp::create(b, loc, 0, 1);
      cf::AssertOp::create(b, loc, no, op.getMsg());
      op.erase();
    }
  }
};

} // namespace
