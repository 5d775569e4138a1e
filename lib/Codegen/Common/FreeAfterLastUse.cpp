//===- FreeAfterLastUse.cpp - the amp-free-after-last-use pass --------------===//
//
// Ownership-based buffer deallocation frees a block's temporaries at the end
// of the block, and bufferization allocates some long before they are
// written. A training step is one block, so every activation, gradient and
// cast copy would stay allocated until the step returns: its peak memory the
// sum of all temporaries. Allocating each buffer right before its first use
// and freeing it right after its last makes the peak the largest set live at
// once.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace ampc {
#define GEN_PASS_DEF_AMPFREEAFTERLASTUSE
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Whether `op` only derives a value from its operands without touching
/// memory: a view, a pointer or metadata extraction, index arithmetic. The
/// results of such ops on a buffer stand for the buffer.
bool derivesOnly(Operation *op) {
  return isa<ViewLikeOpInterface, memref::ExtractAlignedPointerAsIndexOp,
             memref::ExtractStridedMetadataOp, memref::CastOp>(op) ||
         (op->getDialect() && op->getDialect()->getNamespace() == "arith" &&
          op->getNumRegions() == 0);
}

/// The first op of `block` that uses `buffer` (an allocation in `block`);
/// null if it is used outside the block.
Operation *firstUse(Value buffer, Block *block) {
  Operation *first = nullptr;
  for (Operation *user : buffer.getUsers()) {
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock)
      return nullptr;
    if (!first || inBlock->isBeforeInBlock(first))
      first = inBlock;
  }
  return first;
}

/// The last op of `block` (other than `dealloc`) that uses `buffer` or a
/// value derived from it, directly or in a nested region; null if none.
Operation *lastUse(Value buffer, Block *block, Operation *dealloc) {
  SmallVector<Value> worklist{buffer};
  llvm::SmallPtrSet<Value, 16> derived{buffer};
  Operation *last = nullptr;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (user == dealloc)
        continue;
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock)
        return block->getTerminator(); // used elsewhere: keep it to the end
      if (!last || last->isBeforeInBlock(inBlock))
        last = inBlock;
      if (derivesOnly(user)) {
        for (Value result : user->getResults())
          if (derived.insert(result).second)
            worklist.push_back(result);
        continue;
      }
      // A buffer result of any other op (or of the op holding the use) may
      // alias the buffer: keep the dealloc where it is.
      auto returnsBuffer = [](Operation *op) {
        return llvm::any_of(op->getResultTypes(),
                            [](Type type) { return isa<BaseMemRefType>(type); });
      };
      if (returnsBuffer(user) || returnsBuffer(inBlock))
        return block->getTerminator();
    }
  }
  return last;
}

class FreeAfterLastUsePass : public ampc::impl::AMPFreeAfterLastUseBase<FreeAfterLastUsePass> {
public:
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation()->walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    for (memref::DeallocOp dealloc : deallocs) {
      Value buffer = dealloc.getMemref();
      Block *block = dealloc->getBlock();
      // Only buffers allocated in the same block: their whole life is here.
      Operation *alloc = buffer.getDefiningOp();
      if (!alloc || alloc->getBlock() != block || !isa<memref::AllocOp>(alloc))
        continue;
      Operation *last = lastUse(buffer, block, dealloc);
      if (!last)
        last = alloc;
      if (last == block->getTerminator() || !last->isBeforeInBlock(dealloc))
        continue;
      if (last->getNextNode() == dealloc.getOperation())
        continue;
      dealloc->moveAfter(last);
      ++numMoved;
    }
    // Allocations move down to just before their first use (their size
    // operands are defined before them, so they still dominate).
    SmallVector<memref::AllocOp> allocs;
    getOperation()->walk([&](memref::AllocOp op) { allocs.push_back(op); });
    for (memref::AllocOp alloc : allocs) {
      Operation *first = firstUse(alloc.getResult(), alloc->getBlock());
      if (!first || first == alloc->getNextNode() || !alloc->isBeforeInBlock(first))
        continue;
      alloc->moveBefore(first);
      ++numAllocsMoved;
    }
  }
};

} // namespace
