//===- GPUStreamOrder.cpp - the amp-gpu-stream-order pass -------------------===//
//
// Chains a host function's GPU ops on one async token, with one wait at each
// return. Library calls in between enqueue on the same (runtime) stream, so
// program order is stream order and nothing stalls the host mid-step.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUSTREAMORDER
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// The ops this pass makes asynchronous.
bool isStreamOp(Operation *op) {
  return isa<gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp, gpu::MemsetOp, gpu::LaunchFuncOp>(op);
}

/// Replaces `op` by a clone that also returns an async token (ODS puts the
/// token last), depending on `token`. Returns the new token.
Value makeAsync(OpBuilder &builder, Operation *op, Value token) {
  cast<gpu::AsyncOpInterface>(op).addAsyncDependency(token);
  SmallVector<Type> resultTypes(op->getResultTypes());
  resultTypes.push_back(builder.getType<gpu::AsyncTokenType>());
  builder.setInsertionPoint(op);
  Operation *async = Operation::create(op->getLoc(), op->getName(), resultTypes,
                                       op->getOperands(), op->getDiscardableAttrDictionary(),
                                       op->getPropertiesStorage(), op->getSuccessors(),
                                       /*numRegions=*/0);
  builder.insert(async);
  op->replaceAllUsesWith(async->getResults().drop_back());
  op->erase();
  return async->getResults().back();
}

class GPUStreamOrderPass : public ampc::impl::AMPGPUStreamOrderBase<GPUStreamOrderPass> {
public:
  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    SmallVector<Operation *> ops;
    bool nested = false;
    function.walk([&](Operation *op) {
      if (!isStreamOp(op))
        return;
      if (op->getParentOp() != function.getOperation() || !function.getBody().hasOneBlock()) {
        op->emitError("ampc: GPU work inside host control flow is not supported by the CUDA "
                      "back end");
        nested = true;
      }
      if (cast<gpu::AsyncOpInterface>(op).getAsyncToken()) {
        op->emitError("ampc: amp-gpu-stream-order expects synchronous GPU ops");
        nested = true;
      }
      ops.push_back(op);
    });
    if (nested)
      return signalPassFailure();
    if (ops.empty())
      return;
    OpBuilder builder(&getContext());
    Block &body = function.getBody().front();
    builder.setInsertionPointToStart(&body);
    Value token = gpu::WaitOp::create(builder, function.getLoc(),
                                      builder.getType<gpu::AsyncTokenType>(), ValueRange())
                      .getAsyncToken();
    for (Operation *op : ops)
      token = makeAsync(builder, op, token);
    Operation *terminator = body.getTerminator();
    builder.setInsertionPoint(terminator);
    gpu::WaitOp::create(builder, terminator->getLoc(), Type(), ValueRange{token});
  }
};

} // namespace
