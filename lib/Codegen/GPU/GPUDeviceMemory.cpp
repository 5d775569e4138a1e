//===- GPUDeviceMemory.cpp - the amp-gpu-device-memory pass -----------------===//
//
// Once structured ops are GPU kernels, the host function only allocates,
// copies and launches: its buffers move to device memory.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUDEVICEMEMORY
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// gpu.memcpy copies whole buffers: both sides must be contiguous.
bool isContiguous(Value buffer) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  return type && type.getLayout().isIdentity();
}

/// Ops that read or write buffer elements (themselves or in their regions).
bool touchesElements(Operation *op) {
  return op
      ->walk([](Operation *nested) {
        if (isa<gpu::LaunchOp>(nested))
          return WalkResult::skip();
        return isa<memref::LoadOp, memref::StoreOp, vector::TransferReadOp,
                   vector::TransferWriteOp, vector::LoadOp, vector::StoreOp>(nested)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

/// Host ops that write device buffers element by element: stores, and loops
/// or conditionals around element accesses.
bool isScalarRoot(Operation *op) {
  if (isa<memref::StoreOp>(op))
    return true;
  if (!isa<scf::ForOp, scf::IfOp>(op) || !touchesElements(op))
    return false;
  return !op->walk([](gpu::LaunchOp) { return WalkResult::interrupt(); }).wasInterrupted();
}

/// Ops a scalar kernel recomputes: element reads and side-effect-free,
/// region-free arithmetic.
bool isRecomputable(Operation *op) {
  if (op->hasTrait<OpTrait::IsTerminator>())
    return false;
  return isa<memref::LoadOp>(op) || (isPure(op) && op->getNumRegions() == 0);
}

/// Rank-0 and all-reduction structured ops leave scalar code (loads, stores,
/// loops) on the host, where device buffers cannot be touched. Each store
/// (or loop) moves into a one-thread kernel together with the loads and
/// arithmetic computing what it writes, recomputed there.
LogicalResult wrapScalarCode(func::FuncOp function) {
  Block &body = function.getBody().front();
  SmallVector<Operation *> roots;
  for (Operation &op : body)
    if (isScalarRoot(&op))
      roots.push_back(&op);
  OpBuilder builder(function.getContext());
  for (Operation *root : roots) {
    llvm::SetVector<Value> needed;
    needed.insert(root->getOperands().begin(), root->getOperands().end());
    for (Region &region : root->getRegions())
      getUsedValuesDefinedAbove(region, needed);
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> worklist(needed.begin(), needed.end());
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &body || !isRecomputable(def) || !slice.insert(def))
        continue;
      worklist.append(def->getOperands().begin(), def->getOperands().end());
    }
    SmallVector<Operation *> ordered(slice.begin(), slice.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    builder.setInsertionPoint(root);
    Location loc = root->getLoc();
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    auto launch = gpu::LaunchOp::create(builder, loc, one, one, one, one, one, one);
    builder.setInsertionPointToEnd(&launch.getBody().front());
    auto terminator = gpu::TerminatorOp::create(builder, loc);
    builder.setInsertionPoint(terminator);
    IRMapping mapping;
    for (Operation *op : ordered)
      builder.clone(*op, mapping);
    root->moveBefore(terminator);
    for (OpOperand &operand : root->getOpOperands())
      if (Value mapped = mapping.lookupOrNull(operand.get()))
        operand.set(mapped);
    for (Region &region : root->getRegions())
      for (auto [from, to] : mapping.getValueMap())
        replaceAllUsesInRegionWith(from, to, region);
  }
  // The host copies of what moved into kernels are dead now.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (op.use_empty() && isRecomputable(&op))
      op.erase();
  for (Operation &op : body)
    if (auto load = dyn_cast<memref::LoadOp>(&op)) {
      InFlightDiagnostic diag = load.emitError(
          "ampc: a scalar read from a device buffer is used by host code; the CUDA back end "
          "cannot lower it");
      Operation *user = *load->getUsers().begin();
      diag.attachNote(user->getLoc()) << "used by '" << user->getName() << "'";
      return diag;
    }
  return success();
}

class GPUDeviceMemoryPass : public ampc::impl::AMPGPUDeviceMemoryBase<GPUDeviceMemoryPass> {
public:
  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    if (!function.getBody().hasOneBlock()) {
      function.emitError("ampc: host functions with control flow are not supported by the CUDA "
                         "back end");
      return signalPassFailure();
    }
    if (failed(wrapScalarCode(function)))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    function.walk<WalkOrder::PreOrder>([&](Operation *op) {
      // Kernel bodies keep their memory ops: they run on the device.
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (op == function.getOperation())
        return WalkResult::advance();
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto device = gpu::AllocOp::create(rewriter, loc, alloc.getType(), /*asyncToken=*/Type(),
                                           ValueRange(), alloc.getDynamicSizes(),
                                           alloc.getSymbolOperands(), /*hostShared=*/false);
        rewriter.replaceOp(alloc, device.getMemref());
        return WalkResult::advance();
      }
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, loc, /*asyncToken=*/Type(), ValueRange(),
                               dealloc.getMemref());
        rewriter.eraseOp(dealloc);
        return WalkResult::advance();
      }
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (!isContiguous(copy.getSource()) || !isContiguous(copy.getTarget())) {
          op->emitError("ampc: a host-side copy between non-contiguous buffers is not supported "
                        "by the CUDA back end");
          failedAny = true;
          return WalkResult::interrupt();
        }
        gpu::MemcpyOp::create(rewriter, loc, /*asyncToken=*/Type(), ValueRange(),
                              copy.getTarget(), copy.getSource());
        rewriter.eraseOp(copy);
        return WalkResult::advance();
      }
      if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        // A constant: uploaded into a device buffer where it is used.
        rewriter.setInsertionPointAfter(global);
        auto device = gpu::AllocOp::create(rewriter, loc, global.getType(), Type(), ValueRange(),
                                           ValueRange(), ValueRange(), false);
        rewriter.replaceAllUsesWith(global.getResult(), device.getMemref());
        gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange(), device.getMemref(),
                              global.getResult());
        return WalkResult::advance();
      }
      if (isa<memref::AllocaOp, linalg::LinalgOp>(op) || touchesElements(op)) {
        op->emitError("ampc: '") << op->getName()
                                 << "' would run on the host and touch device memory; the CUDA "
                                    "back end cannot lower it";
        failedAny = true;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
