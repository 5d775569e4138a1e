//===- GPUSinkScalars.cpp - the amp-gpu-sink-scalars pass -------------------===//
//
// Scalars read from 0-d tensors move into the generics that use them, as
// broadcast inputs: on the GPU the tensors are in device memory.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUSINKSCALARS
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// A 0-d tensor read.
bool isScalarRead(Operation *op) {
  auto extract = dyn_cast<tensor::ExtractOp>(op);
  return extract && extract.getTensor().getType().getRank() == 0;
}

/// The ops computing `value` from scalar reads, in `block`, if it depends on
/// at least one read and only on pure, region-free ops besides them.
/// Returns false when `value` cannot (or need not) be sunk.
bool collectSlice(Value value, Block *block, llvm::SetVector<Operation *> &slice) {
  bool readsScalar = false;
  SmallVector<Value> worklist{value};
  llvm::SetVector<Operation *> visited;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != block)
      continue; // Arguments and outer values stay captured.
    if (!visited.insert(def))
      continue;
    if (isScalarRead(def)) {
      readsScalar = true;
      continue;
    }
    if (!isPure(def) || def->getNumRegions() != 0)
      return false;
    for (Value operand : def->getOperands())
      worklist.push_back(operand);
  }
  if (!readsScalar)
    return false;
  slice.insert(visited.begin(), visited.end());
  return true;
}

class GPUSinkScalarsPass : public ampc::impl::AMPGPUSinkScalarsBase<GPUSinkScalarsPass> {
public:
  void runOnOperation() override {
    // A tensor select on a scalar condition (the loss scaler keeps or
    // replaces whole state tensors) picks a buffer on the host; as an
    // elementwise generic it picks elements on the device instead.
    SmallVector<arith::SelectOp> selects;
    getOperation().walk([&](arith::SelectOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getType());
      if (type && type.hasStaticShape() && op.getCondition().getType().isInteger(1))
        selects.push_back(op);
    });
    for (arith::SelectOp op : selects) {
      OpBuilder builder(op);
      auto type = cast<RankedTensorType>(op.getType());
      Value init = tensor::EmptyOp::create(builder, op.getLoc(), type.getShape(),
                                           type.getElementType());
      AffineMap id = builder.getMultiDimIdentityMap(type.getRank());
      Value condition = op.getCondition();
      auto generic = linalg::GenericOp::create(
          builder, op.getLoc(), TypeRange{type}, ValueRange{op.getTrueValue(), op.getFalseValue()},
          ValueRange{init}, ArrayRef<AffineMap>{id, id, id},
          SmallVector<utils::IteratorType>(type.getRank(), utils::IteratorType::parallel),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value picked = arith::SelectOp::create(b, loc, condition, args[0], args[1]);
            linalg::YieldOp::create(b, loc, picked);
          });
      op.replaceAllUsesWith(generic.getResult(0));
      op.erase();
    }
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics())
        generics.push_back(op);
    });
    for (linalg::GenericOp op : generics)
      sink(op);
  }

private:
  /// Replaces `op` by a generic with `inputs` and `maps` (inits, iterators,
  /// attributes and payload kept; the caller fixes the payload's arguments).
  static linalg::GenericOp rebuild(linalg::GenericOp op, ValueRange inputs,
                                   ArrayRef<AffineMap> maps) {
    OpBuilder builder(op);
    auto replacement = linalg::GenericOp::create(builder, op.getLoc(), op.getResultTypes(), inputs,
                                                 op.getOutputs(), maps,
                                                 op.getIteratorTypesArray());
    replacement->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    replacement.getRegion().takeBody(op.getRegion());
    op->replaceAllUsesWith(replacement->getResults());
    op->erase();
    return replacement;
  }

  /// Scalar (non-tensor) inputs, as convert-elementwise-to-linalg makes for
  /// a select's condition, become values captured by the payload.
  linalg::GenericOp captureScalarInputs(linalg::GenericOp op) {
    SmallVector<OpOperand *> scalarInputs;
    for (OpOperand *input : op.getDpsInputOperands())
      if (!isa<ShapedType>(input->get().getType()))
        scalarInputs.push_back(input);
    if (scalarInputs.empty())
      return op;
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (OpOperand *input : op.getDpsInputOperands())
      if (!llvm::is_contained(scalarInputs, input)) {
        inputs.push_back(input->get());
        maps.push_back(op.getMatchingIndexingMap(input));
      }
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));
    // (payload argument, captured value), last argument first for erasing.
    SmallVector<std::pair<unsigned, Value>> captures;
    for (OpOperand *input : llvm::reverse(scalarInputs))
      captures.push_back({input->getOperandNumber(), input->get()});
    linalg::GenericOp replacement = rebuild(op, inputs, maps);
    Block &body = replacement.getRegion().front();
    for (auto [position, value] : captures) {
      body.getArgument(position).replaceAllUsesWith(value);
      body.eraseArgument(position);
    }
    return replacement;
  }

  void sink(linalg::GenericOp op) {
    op = captureScalarInputs(op);
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegion(), captured);
    llvm::SetVector<Operation *> slice;
    SmallVector<Value> sunk;
    for (Value value : captured) {
      llvm::SetVector<Operation *> valueSlice;
      if (collectSlice(value, op->getBlock(), valueSlice)) {
        slice.insert(valueSlice.begin(), valueSlice.end());
        sunk.push_back(value);
      }
    }
    if (sunk.empty())
      return;
    SmallVector<Operation *> ordered(slice.begin(), slice.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    // One new input per 0-d tensor read, broadcast to every element.
    SmallVector<Value> scalars;
    for (Operation *sliceOp : ordered)
      if (isScalarRead(sliceOp) && !llvm::is_contained(scalars, sliceOp->getOperand(0)))
        scalars.push_back(sliceOp->getOperand(0));

    OpBuilder builder(op);
    SmallVector<Value> inputs(op.getInputs());
    inputs.append(scalars);
    SmallVector<AffineMap> maps;
    unsigned numLoops = op.getNumLoops();
    for (OpOperand *input : op.getDpsInputOperands())
      maps.push_back(op.getMatchingIndexingMap(input));
    for (size_t i = 0; i < scalars.size(); ++i)
      maps.push_back(AffineMap::get(numLoops, 0, {}, op.getContext()));
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));
    unsigned position = op.getNumDpsInputs();
    linalg::GenericOp replacement = rebuild(op, inputs, maps);
    Block &body = replacement.getRegion().front();
    IRMapping mapping;
    for (Value scalar : scalars) {
      Type element = cast<RankedTensorType>(scalar.getType()).getElementType();
      BlockArgument argument = body.insertArgument(position++, element, scalar.getLoc());
      for (Operation *sliceOp : ordered)
        if (isScalarRead(sliceOp) && sliceOp->getOperand(0) == scalar)
          mapping.map(sliceOp->getResult(0), argument);
    }
    builder.setInsertionPointToStart(&body);
    for (Operation *sliceOp : ordered)
      if (!isScalarRead(sliceOp))
        builder.clone(*sliceOp, mapping);
    for (Value value : sunk)
      replaceAllUsesInRegionWith(value, mapping.lookup(value), replacement.getRegion());
  }
};

} // namespace
