//===- RequestCWrappers.cpp - the amp-request-c-wrappers pass --------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPREQUESTCWRAPPERS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AMPRequestCWrappersPass
    : ampc::impl::AMPRequestCWrappersBase<AMPRequestCWrappersPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isDeclaration())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), UnitAttr::get(&getContext()));
  }
};
} // namespace
