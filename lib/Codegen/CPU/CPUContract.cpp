//===- CPUContract.cpp - the amp-cpu-contract pass --------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUCONTRACT
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct CPUContractPass : public ampc::impl::AMPCPUContractBase<CPUContractPass> {
  void runOnOperation() override {
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (op.getNumReductionLoops() == 0)
        return;
      op.getBlock()->walk([&](arith::ArithFastMathInterface math) {
        if (!isa<arith::MulFOp, arith::AddFOp, arith::SubFOp>(math.getOperation()))
          return;
        auto flags = math.getFastMathFlagsAttr().getValue();
        if (arith::bitEnumContainsAll(flags, arith::FastMathFlags::contract))
          return;
        math->setAttr(math.getFastMathAttrName(),
                      arith::FastMathFlagsAttr::get(op.getContext(),
                                                    flags | arith::FastMathFlags::contract));
        ++numContracted;
      });
    });
    // The adds later lowerings build around a contracting multiply (a
    // vectorized matmul tile's reduction) may fuse with it too.
    getOperation()->walk([&](Operation *op) {
      if (!isa<arith::AddFOp, arith::SubFOp>(op))
        return;
      auto math = cast<arith::ArithFastMathInterface>(op);
      auto flags = math.getFastMathFlagsAttr().getValue();
      if (arith::bitEnumContainsAll(flags, arith::FastMathFlags::contract))
        return;
      bool fromContractingMul = llvm::any_of(op->getOperands(), [](Value v) {
        // (Through the reshapes a vectorized reduction of a unit dimension
        // leaves between the two.)
        while (auto cast = v.getDefiningOp<vector::ShapeCastOp>()) {
          if (!cast->hasOneUse())
            break;
          v = cast.getSource();
        }
        auto mul = v.getDefiningOp<arith::MulFOp>();
        return mul && mul->hasOneUse() &&
               arith::bitEnumContainsAll(mul.getFastmath(), arith::FastMathFlags::contract);
      });
      if (!fromContractingMul)
        return;
      op->setAttr(math.getFastMathAttrName(),
                  arith::FastMathFlagsAttr::get(op->getContext(),
                                                flags | arith::FastMathFlags::contract));
      ++numContracted;
    });
  }
};
} // namespace
