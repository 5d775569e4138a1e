//===- CPUCollapseInnerDims.cpp - the amp-cpu-collapse-inner-dims pass ------===//
//
// Merges the short innermost loop dimensions of linalg.generic ops on
// contiguous buffers, so that the innermost loop LLVM vectorizes walks
// contiguous memory instead of gathering along an outer, strided one.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUCOLLAPSEINNERDIMS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Whether every operand of `op` is a buffer with the identity layout (so
/// any run of its dimensions collapses without copying).
bool hasContiguousBuffers(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.getLayout().isIdentity() || !type.hasStaticShape())
      return false;
  }
  return true;
}

/// The innermost dimensions of `op` to merge into one: extended outwards
/// while the merged extent is below `minInner`, the loops are of one kind
/// and every indexing map keeps them together. Empty when there is nothing
/// to merge.
ReassociationIndices innerDimsToMerge(linalg::GenericOp op, int64_t minInner) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (ranges.size() < 2 || llvm::any_of(ranges, ShapedType::isDynamic) ||
      !llvm::all_of(maps, [](AffineMap map) { return map.isProjectedPermutation(); }))
    return {};
  int64_t last = ranges.size() - 1;
  ReassociationIndices group = {last};
  int64_t extent = ranges[last];
  for (int64_t dim = last - 1; dim >= 0 && extent < minInner; --dim) {
    if (iterators[dim] != iterators[last])
      break;
    ReassociationIndices wider = {dim};
    wider.append(group.begin(), group.end());
    if (!linalg::areDimSequencesPreserved(maps, {wider}))
      break;
    group = std::move(wider);
    extent *= ranges[dim];
  }
  if (group.size() < 2)
    return {};
  return group;
}

struct CPUCollapseInnerDimsPass
    : public ampc::impl::AMPCPUCollapseInnerDimsBase<CPUCollapseInnerDimsPass> {
  using AMPCPUCollapseInnerDimsBase::AMPCPUCollapseInnerDimsBase;

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, ReassociationIndices>> work;
    getOperation()->walk([&](linalg::GenericOp op) {
      // A payload reading its loop indices would rebuild them with a
      // division per element: slower than what the merge saves.
      if (!hasContiguousBuffers(op) || !op.getBody()->getOps<linalg::IndexOp>().empty())
        return;
      ReassociationIndices inner = innerDimsToMerge(op, minInner);
      if (!inner.empty())
        work.emplace_back(op, std::move(inner));
    });
    IRRewriter rewriter(&getContext());
    for (auto &[op, inner] : work) {
      // Every other dimension stays a group of its own.
      SmallVector<ReassociationIndices> groups;
      for (int64_t dim = 0; dim < inner.front(); ++dim)
        groups.push_back({dim});
      groups.push_back(inner);
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(cast<linalg::LinalgOp>(op.getOperation()), groups, rewriter);
      if (failed(collapsed))
        continue; // the op stays as it was: correct, only slower
      rewriter.eraseOp(op); // buffer semantics: no results to replace
      ++numCollapsed;
    }
  }
};

} // namespace
