//===- UntieEmptyTensors.cpp - the amp-untie-empty-tensors pass -----------===//
//
// Gives each use of a tensor.empty, and of a linalg.fill of one, a copy of
// its own, so that bufferization gives each user a fresh buffer instead of
// one shared, rewritten buffer (or copies of a shared fill).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace ampc {
#define GEN_PASS_DEF_AMPUNTIEEMPTYTENSORS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// Points every use of `op`'s result but one at a value `clone` builds
/// (next to `op`); returns how many uses it moved.
template <typename CloneFn> unsigned untie(Operation *op, CloneFn clone) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : op->getResult(0).getUses())
    uses.push_back(&use);
  if (uses.size() < 2)
    return 0;
  OpBuilder b(op->getContext());
  b.setInsertionPointAfter(op);
  // The first use keeps the original; the uses are in no particular order,
  // which does not matter: every clone is placed where the original is.
  for (OpOperand *use : llvm::drop_begin(uses))
    use->set(clone(b));
  return uses.size() - 1;
}

bool isFillOfEmpty(linalg::FillOp fill) {
  return fill.hasPureTensorSemantics() &&
         fill.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>() != nullptr;
}

struct AMPUntieEmptyTensorsPass
    : ampc::impl::AMPUntieEmptyTensorsBase<AMPUntieEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> empties;
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](Operation *op) {
      if (auto empty = dyn_cast<tensor::EmptyOp>(op))
        empties.push_back(empty);
      else if (auto fill = dyn_cast<linalg::FillOp>(op))
        fills.push_back(fill);
    });
    for (tensor::EmptyOp empty : empties)
      numEmpties += untie(empty, [&](OpBuilder &b) { return b.clone(*empty)->getResult(0); });
    for (linalg::FillOp fill : fills) {
      if (!isFillOfEmpty(fill))
        continue;
      numFills += untie(fill, [&](OpBuilder &b) {
        Operation *init = b.clone(*fill.getDpsInits()[0].getDefiningOp());
        IRMapping mapping;
        mapping.map(fill.getDpsInits()[0], init->getResult(0));
        return b.clone(*fill, mapping)->getResult(0);
      });
    }
  }
};

} // namespace
