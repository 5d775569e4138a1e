//===- TileAndVectorize.cpp - the amp-tile-and-vectorize pass ---------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

namespace ampc {
#define GEN_PASS_DEF_AMPTILEANDVECTORIZE
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

/// The strategy: tile, vectorize (masked), simplify masks and transfers, and
/// hoist the accumulator tile out of the reduction loop.
/// {0}: matmul tile sizes, {1}: batch_matmul tile sizes, {2}: the attribute
/// marking the ops to tile.
static constexpr const char *kStrategy = R"mlir(
module attributes {{transform.with_named_sequence} {{
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}) {{
    %mm = transform.structured.match ops{{["linalg.matmul"]} attributes{{{2}} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l0, %l1, %l2 = transform.structured.tile_using_for %mm tile_sizes [{0}]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.structured.vectorize %t vector_sizes [{0}] : !transform.any_op
    %bmm = transform.structured.match ops{{["linalg.batch_matmul"]} attributes{{{2}} in %root : (!transform.any_op) -> !transform.any_op
    %bt, %b0, %b1, %b2, %b3 = transform.structured.tile_using_for %bmm tile_sizes [{1}]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.structured.vectorize %bt vector_sizes [{1}] : !transform.any_op
    %softmax = transform.structured.match ops{{["linalg.softmax"]} in %root : (!transform.any_op) -> !transform.any_op
    %decomposed = transform.structured.decompose_interface %softmax : (!transform.any_op) -> !transform.any_op
    %f = transform.structured.match ops{{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.lower_masked_transfers
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_masks
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    // Keep each accumulator tile in registers across the reduction loop, and
    // drop the loop-invariant slices the hoisting leaves as iteration args.
    transform.loop.hoist_loop_invariant_subsets %l2 : !transform.any_op
    transform.loop.hoist_loop_invariant_subsets %b3 : !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

/// Marks the ops the strategy tiles (a discardable attribute, removed after).
static constexpr llvm::StringLiteral kTileMarker = "__amp_tile_and_vectorize";

namespace {
struct TileAndVectorizePass
    : public ampc::impl::AMPTileAndVectorizeBase<TileAndVectorizePass> {
  using AMPTileAndVectorizeBase::AMPTileAndVectorizeBase;

  void runOnOperation() override {
    SmallVector<int64_t> sizes(tileSizes.begin(), tileSizes.end());
    if (sizes.empty())
      sizes = {8, 32, 1};
    if (sizes.size() != 3 || llvm::any_of(sizes, [](int64_t s) { return s <= 0; })) {
      getOperation().emitError("amp-tile-and-vectorize: tile-sizes takes three positive "
                               "sizes (M, N, K)");
      return signalPassFailure();
    }
    // Matmuls with a reduction of one element (outer products, as in the
    // backward of a batch-1 layer) stay plain loops: their reduction loop
    // folds away under the strategy, which then loses track of it.
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        return;
      // oneDNN takes these (amp-cpu-library-gemm, after bufferization).
      auto isLibraryType = [](Type t) { return t.isF32() || t.isF16() || t.isBF16(); };
      if (keepLibraryGemms && llvm::all_of(op->getOperandTypes(), [&](Type t) {
            return isLibraryType(getElementTypeOrSelf(t));
          }))
        return;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      if (ranges.back() != 1)
        op->setAttr(kTileMarker, UnitAttr::get(&getContext()));
    });
    std::string mnk = llvm::formatv("{0}, {1}, {2}", sizes[0], sizes[1], sizes[2]).str();
    std::string strategy = llvm::formatv(kStrategy, mnk, "1, " + mnk, kTileMarker).str();
    OwningOpRef<ModuleOp> script = parseSourceString<ModuleOp>(strategy, &getContext());
    if (!script) {
      getOperation().emitError("amp-tile-and-vectorize: internal strategy failed to parse");
      return signalPassFailure();
    }
    Operation *entry = transform::detail::findTransformEntryPoint(
        getOperation(), *script, transform::TransformDialect::kTransformEntryPointSymbolName);
    bool failedToApply =
        !entry || failed(transform::applyTransformNamedSequence(getOperation(), entry, *script,
                                                                transform::TransformOptions()));
    getOperation()->walk([](Operation *op) { op->removeAttr(kTileMarker); });
    if (failedToApply)
      return signalPassFailure();
  }
};
} // namespace
