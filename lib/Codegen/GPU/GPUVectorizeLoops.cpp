//===- GPUVectorizeLoops.cpp - the amp-gpu-vectorize-loops pass --------------===//
//
// Elementwise loops give each GPU thread one element: a warp then moves 64
// bytes of bf16 per instruction and spends more time on index arithmetic
// than on memory. This pass gives each thread a short vector of neighbouring
// elements along the innermost dimension, read and written with 16-byte
// loads and stores.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUVECTORIZELOOPS
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

/// Whether a `width`-element access at a last index that is a multiple of
/// `width` starts `width * element size` bytes after an aligned base: a
/// buffer with offset 0 whose outer strides are multiples of `width` and
/// whose innermost stride is 1. The runtime's allocations (and so the
/// step's arguments) are aligned to 256 bytes.
bool alignedRows(MemRefType type, int64_t width) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() == 0 || failed(type.getStridesAndOffset(strides, offset)) || offset != 0 ||
      strides.back() != 1)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(strides).drop_back(), [&](int64_t stride) {
    return !ShapedType::isDynamic(stride) && stride % width == 0;
  });
}

/// How a loop body is vectorized along `lane`, its innermost induction
/// variable: the values that vary along it.
class LoopVectorizer {
public:
  LoopVectorizer(scf::ParallelOp loop, int64_t vectorBytes) : loop(loop), vectorBytes(vectorBytes) {}

  /// The elements per thread, or 0 when the loop does not qualify.
  int64_t plan() {
    unsigned last = loop.getNumLoops() - 1;
    lane = loop.getInductionVars()[last];
    std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()[last]);
    std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound()[last]);
    std::optional<int64_t> step = getConstantIntValue(loop.getStep()[last]);
    if (!lower || !upper || !step || *lower != 0 || *step != 1)
      return 0;
    // The narrowest element read or written takes `vectorBytes` per access.
    int64_t narrowest = 0;
    Block *body = loop.getBody();
    for (Operation &op : body->without_terminator()) {
      if (op.getNumRegions() != 0)
        return 0; // nested loops (reductions) stay as they are
      Type type;
      if (auto load = dyn_cast<memref::LoadOp>(op))
        type = load.getType();
      else if (auto store = dyn_cast<memref::StoreOp>(op))
        type = store.getValueToStore().getType();
      else
        continue;
      if (!type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8 != 0)
        return 0;
      int64_t bytes = type.getIntOrFloatBitWidth() / 8;
      narrowest = narrowest ? std::min(narrowest, bytes) : bytes;
    }
    if (!narrowest || !isa<scf::ReduceOp>(body->getTerminator()) ||
        body->getTerminator()->getNumOperands() != 0)
      return 0;
    width = vectorBytes / narrowest;
    if (width < 2 || *upper % width != 0)
      return 0;
    upperBound = *upper;

    // Which values vary along the lane, and whether every use of them can
    // be vectorized.
    varying.insert(lane);
    for (Operation &op : body->without_terminator()) {
      bool dependent = llvm::any_of(op.getOperands(), [&](Value v) { return varying.contains(v); });
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        if (!llvm::any_of(load.getIndices(), [&](Value v) { return varying.contains(v); }))
          continue; // the same element for the whole vector
        if (!accessOk(load.getMemRefType(), load.getIndices()))
          return 0;
        varying.insert(load.getResult());
        continue;
      }
      if (auto store = dyn_cast<memref::StoreOp>(op)) {
        if (!accessOk(store.getMemRefType(), store.getIndices()))
          return 0;
        continue;
      }
      if (!dependent)
        continue;
      if (!op.hasTrait<OpTrait::Vectorizable>() || op.getNumResults() != 1 ||
          !op.getResult(0).getType().isIntOrFloat() ||
          llvm::any_of(op.getOperandTypes(), [](Type t) { return !t.isIntOrFloat(); }))
        return 0;
      varying.insert(op.getResult(0));
    }
    return width;
  }

  /// Rewrites the loop: step `width` along the lane, vector accesses and
  /// arithmetic for the varying values.
  void apply() {
    Block *body = loop.getBody();
    OpBuilder builder(loop);
    unsigned last = loop.getNumLoops() - 1;
    // The loop counts vectors (unit step, so that thread-block tiling and
    // its bound guards see an ordinary loop); the first element of vector
    // v is v * width.
    Value widthValue = arith::ConstantIndexOp::create(builder, loop.getLoc(), width);
    loop.getUpperBoundMutable()[last].set(
        arith::ConstantIndexOp::create(builder, loop.getLoc(), upperBound / width));
    OpBuilder atStart = OpBuilder::atBlockBegin(body);
    auto first = arith::MulIOp::create(atStart, loop.getLoc(), lane, widthValue);
    lane.replaceAllUsesExcept(first.getResult(), first);
    varying.insert(first.getResult());
    IRMapping vectors;
    auto vectorOf = [&](OpBuilder &b, Value scalar) -> Value {
      if (Value mapped = vectors.lookupOrNull(scalar))
        return mapped;
      return vector::BroadcastOp::create(b, scalar.getLoc(),
                                         VectorType::get({width}, scalar.getType()), scalar);
    };
    SmallVector<Operation *> replaced;
    for (Operation &op : body->without_terminator()) {
      if (&op == first.getOperation())
        continue;
      bool dependent = llvm::any_of(op.getOperands(), [&](Value v) { return varying.contains(v); });
      if (!dependent && !isa<memref::StoreOp>(op))
        continue;
      OpBuilder b(&op);
      Location loc = op.getLoc();
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        auto read = vector::LoadOp::create(b, loc, VectorType::get({width}, load.getType()),
                                           load.getMemRef(), load.getIndices());
        read.setAlignment(alignmentOf(load.getType()));
        vectors.map(load.getResult(), read.getResult());
      } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
        Type element = store.getValueToStore().getType();
        auto write = vector::StoreOp::create(b, loc, vectorOf(b, store.getValueToStore()),
                                             store.getMemRef(), store.getIndices());
        write.setAlignment(alignmentOf(element));
      } else {
        SmallVector<Value> operands;
        for (Value operand : op.getOperands())
          operands.push_back(vectorOf(b, operand));
        Type result = VectorType::get({width}, op.getResult(0).getType());
        Operation *vectorOp = b.create(loc, op.getName().getIdentifier(), operands, {result},
                                       op.getAttrs());
        vectors.map(op.getResult(0), vectorOp->getResult(0));
      }
      replaced.push_back(&op);
    }
    for (Operation *op : llvm::reverse(replaced))
      op->erase();
  }

private:
  /// Indices that vary along the lane only through the last one, which is
  /// the lane itself, on a buffer whose rows start aligned.
  bool accessOk(MemRefType type, ValueRange indices) {
    if (indices.empty() || indices.back() != lane || !alignedRows(type, width))
      return false;
    return llvm::none_of(indices.drop_back(), [&](Value v) { return varying.contains(v); });
  }

  /// The guaranteed alignment of a vector of `element`: its size, at most
  /// 16 bytes (one ld.global.v4.b32).
  uint64_t alignmentOf(Type element) {
    return std::min<uint64_t>(16, width * element.getIntOrFloatBitWidth() / 8);
  }

  scf::ParallelOp loop;
  int64_t vectorBytes;
  int64_t width = 0;
  int64_t upperBound = 0;
  Value lane;
  llvm::SmallPtrSet<Value, 16> varying;
};

class GPUVectorizeLoopsPass
    : public ampc::impl::AMPGPUVectorizeLoopsBase<GPUVectorizeLoopsPass> {
public:
  using AMPGPUVectorizeLoopsBase::AMPGPUVectorizeLoopsBase;

  void runOnOperation() override {
    if (vectorBytes < 1 || vectorBytes > 64 || !llvm::isPowerOf2_64(vectorBytes)) {
      getOperation().emitError("amp-gpu-vectorize-loops: vector-bytes must be a power of two "
                               "from 1 to 64, not ")
          << static_cast<int64_t>(vectorBytes);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      LoopVectorizer vectorizer(loop, vectorBytes);
      if (!vectorizer.plan())
        continue;
      vectorizer.apply();
      ++numVectorized;
    }
  }
};

} // namespace
