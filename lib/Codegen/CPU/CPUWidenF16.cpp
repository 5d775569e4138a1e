//===- CPUWidenF16.cpp - the amp-cpu-widen-f16 pass -------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Codegen/Common/LibraryGemm.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUWIDENF16
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// A contraction or convolution on f16 inputs accumulating in f32.
bool isWidenable(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumReductionLoops() == 0 ||
      op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !ampc::library::isMulAddBody(*op.getBlock()))
    return false;
  auto elementType = [](Value v) { return getElementTypeOrSelf(v.getType()); };
  return elementType(op.getDpsInputs()[0]).isF16() && elementType(op.getDpsInputs()[1]).isF16() &&
         elementType(op.getDpsInits()[0]).isF32();
}

struct CPUWidenF16Pass : public ampc::impl::AMPCPUWidenF16Base<CPUWidenF16Pass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (isWidenable(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    DenseMap<Value, Value> widened;
    for (linalg::LinalgOp op : candidates) {
      SmallVector<Value> inputs;
      for (Value input : op.getDpsInputs())
        inputs.push_back(widen(rewriter, input, widened));
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      Value init = op.getDpsInits()[0];
      auto generic = linalg::GenericOp::create(
          rewriter, loc, init.getType(), inputs, ValueRange{init}, op.getIndexingMapsArray(),
          op.getIteratorTypesArray(),
          [](OpBuilder &b, Location l, ValueRange args) {
            Value product = arith::MulFOp::create(b, l, args[0], args[1]);
            Value sum = arith::AddFOp::create(b, l, args[2], product);
            linalg::YieldOp::create(b, l, sum);
          });
      // Discardable attributes (a precision pin, autocast's marks) stay.
      for (NamedAttribute attr : op->getDiscardableAttrs())
        generic->setAttr(attr.getName(), attr.getValue());
      rewriter.replaceOp(op, generic->getResults());
      ++numWidened;
    }
  }

  /// The f32 copy of the f16 tensor `value`, made once, next to it.
  Value widen(IRRewriter &rewriter, Value value, DenseMap<Value, Value> &widened) {
    if (Value existing = widened.lookup(value))
      return existing;
    OpBuilder::InsertionGuard guard(rewriter);
    // A transposed f16 tensor: the transpose of the wide copy, which
    // amp-cpu-library-gemm folds into the GEMM's operand.
    if (auto transpose = value.getDefiningOp<linalg::TransposeOp>()) {
      Value wideInput = widen(rewriter, transpose.getInput(), widened);
      rewriter.setInsertionPointAfter(transpose);
      Location loc = transpose.getLoc();
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, value);
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type());
      auto wide = linalg::TransposeOp::create(rewriter, loc, wideInput, empty,
                                              transpose.getPermutation());
      widened[value] = wide->getResult(0);
      return wide->getResult(0);
    }
    if (Value moved = widenDataMovement(rewriter, value, widened)) {
      widened[value] = moved;
      return moved;
    }
    if (Operation *producer = value.getDefiningOp())
      rewriter.setInsertionPointAfter(producer);
    else
      rewriter.setInsertionPointToStart(cast<BlockArgument>(value).getOwner());
    auto type = cast<RankedTensorType>(value.getType());
    Location loc = value.getLoc();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, value);
    Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type());
    AffineMap identity = rewriter.getMultiDimIdentityMap(type.getRank());
    auto copy = linalg::GenericOp::create(
        rewriter, loc, empty.getType(), ValueRange{value}, ValueRange{empty},
        ArrayRef<AffineMap>{identity, identity},
        SmallVector<utils::IteratorType>(type.getRank(), utils::IteratorType::parallel),
        [](OpBuilder &b, Location l, ValueRange args) {
          Value wide = arith::ExtFOp::create(b, l, b.getF32Type(), args[0]);
          linalg::YieldOp::create(b, l, wide);
        });
    Value wide = copy.getResult(0);
    widened[value] = wide;
    readWidened(value, wide, copy);
    return wide;
  }

  /// For an f16 tensor made by moving f16 data (a zero fill, a zero
  /// padding, an insert_slice into a fill: the spread-out gradient, a copy
  /// through other indexing maps: the flipped kernel), the same movement of
  /// wide data, so that amp-cpu-library-gemm still sees the padding, the
  /// spread and the flip it folds; null for anything else.
  Value widenDataMovement(IRRewriter &rewriter, Value value, DenseMap<Value, Value> &widened) {
    Operation *producer = value.getDefiningOp();
    if (!producer)
      return nullptr;
    auto f32Type = [](Type type) {
      return cast<RankedTensorType>(type).clone(Float32Type::get(type.getContext()));
    };
    auto zeroF32 = [&](Value scalar) -> Value {
      Attribute attr;
      auto value = matchPattern(scalar, m_Constant(&attr)) ? dyn_cast<FloatAttr>(attr) : FloatAttr();
      if (!value || !value.getValue().isZero())
        return nullptr;
      return arith::ConstantOp::create(rewriter, producer->getLoc(), rewriter.getF32FloatAttr(0.0f));
    };
    Location loc = producer->getLoc();
    if (auto fill = dyn_cast<linalg::FillOp>(producer)) {
      rewriter.setInsertionPointAfter(fill);
      Value zero = zeroF32(fill.getInputs()[0]);
      if (!zero)
        return nullptr;
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, value);
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type());
      return linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    }
    if (auto pad = dyn_cast<tensor::PadOp>(producer)) {
      Value padding = pad.getConstantPaddingValue();
      if (!padding)
        return nullptr;
      Value source = widen(rewriter, pad.getSource(), widened);
      rewriter.setInsertionPointAfter(pad);
      Value zero = zeroF32(padding);
      if (!zero)
        return nullptr;
      IRMapping mapping;
      mapping.map(pad.getSource(), source);
      auto wide = cast<tensor::PadOp>(rewriter.clone(*pad, mapping));
      wide.getResult().setType(f32Type(pad.getType()));
      wide.getRegion().front().getTerminator()->setOperand(0, zero);
      return wide.getResult();
    }
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(producer)) {
      if (!getElementTypeOrSelf(insert.getSource().getType()).isF16())
        return nullptr;
      Value source = widen(rewriter, insert.getSource(), widened);
      Value dest = widen(rewriter, insert.getDest(), widened);
      rewriter.setInsertionPointAfter(insert);
      IRMapping mapping;
      mapping.map(insert.getSource(), source);
      mapping.map(insert.getDest(), dest);
      Operation *wide = rewriter.clone(*insert, mapping);
      wide->getResult(0).setType(f32Type(insert.getType()));
      return wide->getResult(0);
    }
    auto copy = dyn_cast<linalg::GenericOp>(producer);
    if (copy && copy.getNumDpsInputs() == 1 && copy.getNumDpsInits() == 1 &&
        copy.getNumLoops() == copy.getNumParallelLoops() &&
        copy.getRegion().front().getOperations().size() == 1 &&
        copy.getRegion().front().getTerminator()->getOperand(0) == copy.getRegion().front().getArgument(0) &&
        getElementTypeOrSelf(copy.getDpsInputs()[0].getType()).isF16()) {
      Value input = widen(rewriter, copy.getDpsInputs()[0], widened);
      rewriter.setInsertionPointAfter(copy);
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, value);
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type());
      auto wide = linalg::GenericOp::create(
          rewriter, loc, empty.getType(), ValueRange{input}, ValueRange{empty},
          copy.getIndexingMapsArray(), copy.getIteratorTypesArray(),
          [](OpBuilder &b, Location l, ValueRange args) { linalg::YieldOp::create(b, l, args[0]); });
      return wide.getResult(0);
    }
    return nullptr;
  }

  /// Elementwise readers of `value` that only extend it to f32 read `wide`
  /// instead: the f16 tensor is then left to the copy alone, which fuses
  /// into the producer (f16 values stored in f32, no f16 pass at all).
  static void readWidened(Value value, Value wide, Operation *copy) {
    for (OpOperand &use : llvm::make_early_inc_range(value.getUses())) {
      auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
      if (!generic || generic == copy || !generic.isDpsInput(&use) ||
          generic.getNumLoops() != generic.getNumParallelLoops())
        continue;
      BlockArgument arg = generic.getMatchingBlockArgument(&use);
      if (arg.use_empty() || !llvm::all_of(arg.getUsers(), [](Operation *user) {
            auto ext = dyn_cast<arith::ExtFOp>(user);
            return ext && ext.getType().isF32();
          }))
        continue;
      arg.setType(Float32Type::get(value.getContext()));
      for (Operation *ext : llvm::make_early_inc_range(arg.getUsers())) {
        ext->getResult(0).replaceAllUsesWith(arg);
        ext->erase();
      }
      use.set(wide);
    }
  }
};

} // namespace
