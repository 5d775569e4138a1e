//===- DistinctResults.cpp - the amp-distinct-results pass -----------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace ampc {
#define GEN_PASS_DEF_AMPDISTINCTRESULTS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AMPDistinctResultsPass : ampc::impl::AMPDistinctResultsBase<AMPDistinctResultsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isDeclaration())
        continue;
      func.walk([&](func::ReturnOp ret) {
        llvm::SmallPtrSet<Value, 8> seen;
        for (OpOperand &operand : ret->getOpOperands()) {
          Value value = operand.get();
          auto type = dyn_cast<RankedTensorType>(value.getType());
          if (!type || seen.insert(value).second)
            continue;
          OpBuilder b(ret);
          operand.set(bufferization::AllocTensorOp::create(b, ret.getLoc(), type, ValueRange{},
                                                           /*copy=*/value));
          ++numCopied;
        }
      });
    }
  }
};
} // namespace
