//===- PropagatePins.cpp - the amp-propagate-pins pass ----------------------===//

#include "ampc/Precision/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace ampc {
#define GEN_PASS_DEF_AMPPROPAGATEPINS
#include "ampc/Precision/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

/// Ops whose regions are their payload (classified with them), not a scope.
static bool isPayloadHolder(Operation *op) { return isa<linalg::LinalgOp, tensor::PadOp>(op); }

static bool computesOnF32(Operation *op) {
  auto isF32 = [](Type type) { return getElementTypeOrSelf(type).isF32(); };
  return llvm::any_of(op->getOperandTypes(), isF32) && llvm::any_of(op->getResultTypes(), isF32);
}

namespace {
struct PropagatePinsPass : public ampc::impl::AMPPropagatePinsBase<PropagatePinsPass> {
  void runOnOperation() override {
    StringRef pinName = amp::AMPDialect::kPrecisionAttrName;
    // Scopes, outermost first: an inner scope's pin is handed on after (and
    // over) its outer one's.
    SmallVector<Operation *> scopes;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op->getNumRegions() && !isPayloadHolder(op) && op->hasAttr(pinName))
        scopes.push_back(op);
    });
    for (Operation *scope : scopes) {
      Attribute pin = scope->getAttr(pinName);
      bool handedOn = false;
      scope->walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (op == scope)
          return WalkResult::advance();
        // An inner pinned scope hands on its own pin.
        if (op->getNumRegions() && !isPayloadHolder(op) && op->hasAttr(pinName))
          return WalkResult::skip();
        if (!op->hasAttr(pinName) && computesOnF32(op)) {
          op->setAttr(pinName, pin);
          handedOn = true;
        }
        return isPayloadHolder(op) ? WalkResult::skip() : WalkResult::advance();
      });
      // Nothing inside to pin: the pin stays, so that autocast can say it
      // decides nothing.
      if (handedOn)
        scope->removeAttr(pinName);
    }
  }
};
} // namespace
