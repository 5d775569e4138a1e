//===- CPUOutlineKernels.cpp - the amp-cpu-outline-kernels pass -------------===//
//
// Moves each top-level loop nest of a lowered step into a private function
// of its own: LLVM's optimizer and code generator then work on many small
// functions rather than one huge one, whose time grows faster than its
// size. Identical kernels are merged afterwards (duplicate-function-
// elimination), so a model's repeated blocks compile once.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "amp-cpu-outline-kernels"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUOUTLINEKERNELS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Number of operations nested in `op` (itself included).
unsigned countOps(Operation *op) {
  unsigned count = 0;
  op->walk([&](Operation *) { ++count; });
  return count;
}

/// Whether `op` is a loop nest to outline: a structured op on buffers (a
/// loop nest to be), a loop or a parallel region, with no results and at
/// least `minOps` operations.
bool isKernel(Operation *op, unsigned minOps) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  bool loopNest = (linalgOp && linalgOp.hasPureBufferSemantics()) ||
                  isa<scf::ForOp, scf::ParallelOp, omp::ParallelOp>(op);
  if (!loopNest || op->getNumResults() != 0)
    return false;
  if (countOps(op) < minOps) {
    LLVM_DEBUG(llvm::dbgs() << "not outlined, fewer than " << minOps << " ops: " << *op << "\n");
    return false;
  }
  return true;
}

struct AMPCPUOutlineKernelsPass
    : public ampc::impl::AMPCPUOutlineKernelsBase<AMPCPUOutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isDeclaration() || func.isPrivate() || !func.getBody().hasOneBlock())
        continue;
      unsigned counter = 0;
      for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
        if (isKernel(&op, minOps))
          outline(&op, func, symbols, counter++);
    }
  }

  /// Replaces `op` by a call of a new private function holding it.
  void outline(Operation *op, func::FuncOp parent, SymbolTable &symbols, unsigned number) {
    MLIRContext *ctx = op->getContext();
    llvm::SetVector<Value> captured(op->operand_begin(), op->operand_end());
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    SmallVector<Value> args;
    SmallVector<Operation *> constants;
    for (Value value : captured) {
      Operation *def = value.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>() && def->getNumOperands() == 0)
        constants.push_back(def);
      else
        args.push_back(value);
    }
    OpBuilder b(ctx);
    b.setInsertionPoint(parent);
    auto kernel = func::FuncOp::create(
        b, op->getLoc(), (parent.getSymName() + "_kernel" + Twine(number)).str(),
        FunctionType::get(ctx, ValueRange(args).getTypes(), {}));
    kernel.setPrivate();
    // Internal to the library and kept apart from its caller in LLVM.
    kernel->setAttr("llvm.linkage", LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
    kernel->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
    // What the step profiler times (amp-cpu-profile-points).
    kernel->setAttr(kKernelAttrName, UnitAttr::get(ctx));
    Block *entry = kernel.addEntryBlock();
    IRMapping mapping;
    mapping.map(args, entry->getArguments());
    b.setInsertionPointToStart(entry);
    for (Operation *constant : constants)
      b.clone(*constant, mapping);
    b.clone(*op, mapping);
    func::ReturnOp::create(b, op->getLoc());
    symbols.insert(kernel);
    b.setInsertionPoint(op);
    func::CallOp::create(b, op->getLoc(), kernel, args);
    op->erase();
    ++numKernels;
  }
};

} // namespace
