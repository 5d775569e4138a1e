//===- DataParallel.cpp - the amp-data-parallel pass ------------------------===//
//
// DistributedDataParallel decided at compile time: every rank runs the same
// step on its own shard of the batch, and the step itself sums the raw
// gradients across ranks before anything reads them, so the unscale, the
// finiteness check, the skip decision, the scale update and the optimizer
// see the same values on every rank.
//
//===----------------------------------------------------------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Debug.h"

#include <cmath>
#include <limits>

#define DEBUG_TYPE "amp-data-parallel"

namespace ampc {
#define GEN_PASS_DEF_AMPDATAPARALLEL
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

static constexpr llvm::StringLiteral kMPIImplementationKey = "MPI:Implementation";

static int64_t byteSize(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

namespace {
struct DataParallelPass : public ampc::impl::AMPDataParallelBase<DataParallelPass> {
  using AMPDataParallelBase::AMPDataParallelBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(bucketCapMb > 0) || !std::isfinite(bucketCapMb)) {
      module.emitError("amp-data-parallel: bucket-cap-mb must be positive and finite, got ")
          << bucketCapMb;
      return signalPassFailure();
    }
    if (mpiImplementation != "OpenMPI" && mpiImplementation != "MPICH") {
      module.emitError("amp-data-parallel: mpi-implementation must be OpenMPI or MPICH, got '")
          << mpiImplementation << "'";
      return signalPassFailure();
    }
    bool found = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      SmallVector<Operation *> optimizers = collectOptimizers(func);
      if (optimizers.empty())
        continue;
      found = true;
      if (failed(distribute(func, optimizers)))
        return signalPassFailure();
    }
    if (!found) {
      module.emitError("amp-data-parallel: no function with optimizer ops (amp.sgd, amp.adam, "
                       "amp.adamw): there are no gradients to all-reduce");
      return signalPassFailure();
    }
    if (failed(setMPIImplementation(module)))
      return signalPassFailure();
  }

  LogicalResult distribute(func::FuncOp func, ArrayRef<Operation *> optimizers);
  LogicalResult setMPIImplementation(ModuleOp module);
  SmallVector<OpOperand *> bufferUpdates(func::FuncOp func);
  void reduce(OpBuilder &b, Location loc, ArrayRef<Value> values,
              SmallVectorImpl<Value> &reduced);
};
} // namespace

/// Where the new values of the f32 buffers are read: the true side of a
/// loss-scaled step's select (a skipped step then returns the old buffers
/// exactly), else the return.
SmallVector<OpOperand *> DataParallelPass::bufferUpdates(func::FuncOp func) {
  SmallVector<OpOperand *> updates;
  if (!averageBuffers)
    return updates;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    if (amp::getResultRole(func, i) != Role::buffer)
      continue;
    OpOperand *update = &ret->getOpOperand(i);
    auto type = dyn_cast<RankedTensorType>(update->get().getType());
    // Integer buffers (batch counters) agree on every rank by construction.
    if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
      continue;
    if (auto select = update->get().getDefiningOp<arith::SelectOp>())
      if (isa<BlockArgument>(select.getFalseValue()))
        update = &select.getTrueValueMutable();
    if (!isa<BlockArgument>(update->get()))
      updates.push_back(update);
  }
  return updates;
}

/// MPI counts elements in an int: no bucket may hold more.
static constexpr int64_t kMaxBucketElements = std::numeric_limits<int32_t>::max();

/// Sums `values` across ranks in buckets of at most bucket-cap-mb MiB (and
/// kMaxBucketElements f32s).
void DataParallelPass::reduce(OpBuilder &b, Location loc, ArrayRef<Value> values,
                              SmallVectorImpl<Value> &reduced) {
  const int64_t cap = static_cast<int64_t>(
      std::min(bucketCapMb * 1024 * 1024, static_cast<double>(kMaxBucketElements * 4)));
  SmallVector<Value> bucket;
  int64_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty())
      return;
    auto op = amp::AllReduceOp::create(b, loc, ValueRange(bucket).getTypes(),
                                       amp::ReduceKind::sum, bucket);
    llvm::append_range(reduced, op.getResults());
    LLVM_DEBUG(llvm::dbgs() << "bucket of " << bucket.size() << " tensors, " << bytes
                            << " bytes\n");
    ++numBuckets;
    numReducedBytes += bytes;
    bucket.clear();
    bytes = 0;
  };
  for (Value value : values) {
    int64_t size = byteSize(value);
    if (!bucket.empty() && bytes + size > cap)
      flush();
    bucket.push_back(value);
    bytes += size;
  }
  flush();
}

LogicalResult DataParallelPass::distribute(func::FuncOp func, ArrayRef<Operation *> optimizers) {
  if (!func.getBody().hasOneBlock())
    return func.emitError("amp-data-parallel: expects a single-block function");
  WalkResult already = func.walk([](amp::AllReduceOp op) {
    op.emitError("amp-data-parallel: this function already all-reduces");
    return WalkResult::interrupt();
  });
  if (already.wasInterrupted())
    return failure();

  // What crosses ranks: raw gradients in parameter order, then buffers;
  // each with the uses that read the mean (not the backward's own uses).
  SmallVector<Value> values;
  llvm::DenseMap<Value, SmallVector<OpOperand *>> meanUses;
  auto add = [&](OpOperand *use) {
    auto [it, inserted] = meanUses.try_emplace(use->get());
    if (inserted)
      values.push_back(use->get());
    it->second.push_back(use);
  };
  for (Operation *opt : optimizers) {
    OpOperand &raw = getRawOptimizerGrad(opt);
    auto type = cast<RankedTensorType>(raw.get().getType());
    if (!type.getElementType().isF32() || !type.hasStaticShape())
      return opt->emitError("amp-data-parallel: the gradient of this optimizer is ")
             << type << "; only statically shaped f32 gradients are all-reduced";
    if (type.getNumElements() > kMaxBucketElements)
      return opt->emitError("amp-data-parallel: the gradient of this optimizer has ")
             << type.getNumElements() << " elements, more than one MPI call can count (2^31 - 1)";
    add(&raw);
  }
  for (OpOperand *update : bufferUpdates(func))
    add(update);

  // After the last of them is computed (the end of the backward).
  Block &body = func.getBody().front();
  Operation *last = nullptr;
  for (Value value : values)
    if (Operation *def = value.getDefiningOp())
      if (Operation *inBody = body.findAncestorOpInBlock(*def))
        if (!last || last->isBeforeInBlock(inBody))
          last = inBody;
  OpBuilder b(&body, last ? std::next(last->getIterator()) : body.begin());
  Location loc = func.getLoc();
  // First: without MPI the runtime stops here, with a message, before any
  // MPI call.
  Value worldSize = amp::WorldSizeOp::create(b, loc, RankedTensorType::get({}, b.getF32Type()));
  SmallVector<Value> reduced;
  reduce(b, loc, values, reduced);

  // Means: an unscale already there divides by scale * world size instead
  // of scale; elsewhere an unscale by the world size does it.
  llvm::MapVector<Value, Value> scaleTimesWorld;
  for (auto [value, sum] : llvm::zip_equal(values, reduced)) {
    Value byWorld;
    for (OpOperand *use : meanUses[value]) {
      if (auto unscale = dyn_cast<amp::UnscaleOp>(use->getOwner())) {
        Value &product = scaleTimesWorld[unscale.getScale()];
        if (!product) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointAfter(worldSize.getDefiningOp());
          product = arith::MulFOp::create(b, loc, unscale.getScale(), worldSize);
        }
        unscale.getScaleMutable().assign(product);
        use->set(sum);
        continue;
      }
      if (!byWorld)
        byWorld = amp::UnscaleOp::create(b, loc, sum.getType(), sum, worldSize);
      use->set(byWorld);
    }
  }

  // One skip decision everywhere: all ranks finite, or none steps.
  SmallVector<amp::AllFiniteOp> checks;
  func.walk([&](amp::AllFiniteOp op) { checks.push_back(op); });
  for (amp::AllFiniteOp check : checks) {
    b.setInsertionPointAfter(check);
    Location checkLoc = check.getLoc();
    auto i32Type = RankedTensorType::get({}, b.getI32Type());
    Value asInt = arith::ExtUIOp::create(b, checkLoc, i32Type, check.getResult());
    auto everywhere = amp::AllReduceOp::create(b, checkLoc, TypeRange{i32Type},
                                               amp::ReduceKind::min, ValueRange{asInt});
    ++numBuckets;
    numReducedBytes += 4;
    Value agreed =
        arith::TruncIOp::create(b, checkLoc, check.getType(), everywhere.getResult(0));
    check.getResult().replaceAllUsesExcept(agreed, asInt.getDefiningOp());
  }
  // Users that came before the end of the backward move after the buckets.
  if (!sortTopologically(&body))
    return func.emitError("amp-data-parallel: the step has a cycle after the all-reduce");
  return success();
}

LogicalResult DataParallelPass::setMPIImplementation(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto key = StringAttr::get(ctx, kMPIImplementationKey);
  auto value = StringAttr::get(ctx, mpiImplementation);
  SmallVector<DataLayoutEntryInterface> entries;
  if (Attribute existing = module->getAttr(DLTIDialect::kMapAttrName)) {
    auto map = dyn_cast<MapAttr>(existing);
    if (!map)
      return module.emitError("amp-data-parallel: the module's dlti.map is not a #dlti.map");
    for (DataLayoutEntryInterface entry : map.getEntries()) {
      if (entry.getKey() == DataLayoutEntryKey(key)) {
        if (entry.getValue() != value)
          return module.emitError("amp-data-parallel: the module already targets MPI ")
                 << entry.getValue() << ", not '" << mpiImplementation << "'";
        continue;
      }
      entries.push_back(entry);
    }
  }
  entries.push_back(DataLayoutEntryAttr::get(key, value));
  module->setAttr(DLTIDialect::kMapAttrName, MapAttr::get(ctx, entries));
  return success();
}
