//===- ReadOnlyArguments.cpp - the amp-read-only-arguments pass ------------===//
//
// Compiled functions must never write into their caller's arrays: every
// tensor argument of an exported function is read-only for One-Shot
// Bufferize unless it says otherwise.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPREADONLYARGUMENTS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AMPReadOnlyArgumentsPass
    : ampc::impl::AMPReadOnlyArgumentsBase<AMPReadOnlyArgumentsPass> {
  void runOnOperation() override {
    StringRef writable = bufferization::BufferizationDialect::kWritableAttrName;
    BoolAttr no = BoolAttr::get(&getContext(), false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isDeclaration())
        continue;
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        if (!isa<TensorType>(func.getArgumentTypes()[i]) || func.getArgAttr(i, writable))
          continue;
        func.setArgAttr(i, writable, no);
        ++numMarked;
      }
    }
  }
};
} // namespace
