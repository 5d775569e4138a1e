//===- GPUInPlaceState.cpp - the amp-gpu-in-place-state pass ----------------===//
//
// A training step reads its state (parameters, optimizer and scaler state)
// from arguments and writes the new state to out-parameters. Passing the
// same buffer for both halves the state's memory, and lets one captured
// graph serve every step, when nothing reads an old value after its new
// value may have overwritten it. This pass checks that on the final order of
// the step's buffer operations.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "ampc/Codegen/Common/BufferRoots.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUINPLACESTATE
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

constexpr llvm::StringLiteral kPairsAttr = "ampc.state_pairs";
constexpr llvm::StringLiteral kInPlaceAttr = "ampc.in_place_state";

/// The buffers whose addresses reach `call` through `operands` (a library
/// GEMM takes raw pointers: extract_aligned_pointer_as_index plus offset
/// arithmetic).
void buffersBehindPointers(ValueRange operands, SmallPtrSetImpl<Value> &buffers) {
  SmallVector<Value> worklist(operands);
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    Operation *def = value.getDefiningOp();
    if (!def)
      continue;
    if (auto pointer = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(def)) {
      buffers.insert(rootBuffer(pointer.getSource()));
      continue;
    }
    if (isa<memref::ExtractStridedMetadataOp>(def))
      continue; // sizes and strides, not data
    if (def->getDialect() && def->getDialect()->getNamespace() == "arith")
      worklist.append(def->getOperands().begin(), def->getOperands().end());
  }
}

/// How an op touches a buffer.
struct Access {
  bool reads = false, writes = false;
};

Access accessOf(Operation *op, Value root) {
  Access access;
  if (auto call = dyn_cast<func::CallOp>(op)) {
    SmallPtrSet<Value, 8> written, all;
    buffersBehindPointers(call.getOperands(), all);
    // ampc_cuda_gemm (runtime/cuda/ampc_cuda_runtime.h) writes C, operand
    // 15, and reads the rest; any other call may do anything.
    if (call.getCallee() == "ampc_cuda_gemm" && call.getNumOperands() > 15)
      buffersBehindPointers(call.getOperand(15), written);
    else
      written = all;
    access.reads = all.contains(root);
    access.writes = written.contains(root);
    return access;
  }
  auto touches = [&](Value v) { return v && rootBuffer(v) == root; };
  bool anyOperand = llvm::any_of(op->getOperands(), touches);
  if (isMemoryEffectFree(op) || (!anyOperand && op->getNumRegions() == 0))
    return access;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects) {
    // Unknown effects on an operand (or nested ops): assume both.
    bool nested = false;
    op->walk([&](Operation *inner) {
      if (inner != op && llvm::any_of(inner->getOperands(), touches))
        nested = true;
    });
    access.reads = access.writes = anyOperand || nested;
    return access;
  }
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &effect : instances) {
    Value value = effect.getValue();
    if (value && !touches(value))
      continue;
    if (!value && !anyOperand)
      continue;
    if (isa<MemoryEffects::Read>(effect.getEffect()))
      access.reads = true;
    if (isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
      access.writes = true;
  }
  return access;
}

/// Whether `op` reads `input` and writes `output` element by element at
/// the same indices (so that in place, each element is read before it is
/// overwritten): a linalg op with identity maps for both.
bool updatesElementwise(Operation *op, Value input, Value output) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
      linalgOp.getNumParallelLoops() != linalgOp.getNumLoops())
    return false;
  bool sawInput = false, sawOutput = false;
  for (OpOperand &operand : op->getOpOperands()) {
    if (rootBuffer(operand.get()) != input && rootBuffer(operand.get()) != output)
      continue;
    if (operand.get() != input && operand.get() != output)
      return false; // through a view: other indices
    if (!linalgOp.getMatchingIndexingMap(&operand).isIdentity())
      return false;
    (operand.get() == input ? sawInput : sawOutput) = true;
  }
  return sawInput && sawOutput;
}

/// Whether the step stays correct when `input` and `output` are the same
/// buffer: once `output` may have been written, `input` is read only by
/// elementwise updates of `output` itself.
bool safeInPlace(func::FuncOp func, Value input, Value output) {
  bool written = false;
  for (Operation &op : func.getBody().front()) {
    Access in = accessOf(&op, input), out = accessOf(&op, output);
    if (in.writes)
      return false; // the old state is modified
    if (in.reads && (written || out.writes) && !updatesElementwise(&op, input, output))
      return false;
    written |= out.writes;
  }
  return true;
}

/// The roots of the buffers `op` reads.
SmallVector<Value> readBuffers(Operation *op) {
  SmallVector<Value> roots;
  for (Value operand : op->getOperands())
    if (isa<BaseMemRefType>(operand.getType()) && accessOf(op, rootBuffer(operand)).reads)
      roots.push_back(rootBuffer(operand));
  return roots;
}

/// Moves the one op writing `output` to just after the last op reading
/// `input`, when nothing in between touches `output` or writes what the
/// writer reads (a step counter incremented before the optimizer update
/// that reads the old count). Returns whether it moved.
bool sinkWriter(func::FuncOp func, Value input, Value output) {
  Operation *writer = nullptr, *lastReader = nullptr;
  for (Operation &op : func.getBody().front()) {
    if (accessOf(&op, output).writes) {
      if (writer)
        return false; // several writers
      writer = &op;
    }
    if (accessOf(&op, input).reads && &op != writer)
      lastReader = &op;
  }
  if (!writer || !lastReader || lastReader->isBeforeInBlock(writer) ||
      isa<func::CallOp>(writer))
    return false;
  SmallVector<Value> reads = readBuffers(writer);
  for (Operation *op = writer->getNextNode(); op; op = op->getNextNode()) {
    Access out = accessOf(op, output);
    if (out.reads || out.writes)
      return false;
    if (llvm::any_of(reads, [&](Value root) { return accessOf(op, root).writes; }))
      return false;
    if (op == lastReader)
      break;
  }
  writer->moveAfter(lastReader);
  return true;
}

class GPUInPlaceStatePass : public ampc::impl::AMPGPUInPlaceStateBase<GPUInPlaceStatePass> {
public:
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto pairs = func->getAttrOfType<DenseI64ArrayAttr>(kPairsAttr);
    if (!pairs)
      return;
    func->removeAttr(kPairsAttr);
    ArrayRef<int64_t> indices = pairs.asArrayRef();
    unsigned numArgs = func.getNumArguments();
    if (indices.size() % 2 != 0 || func.getBody().empty() ||
        llvm::any_of(indices, [&](int64_t i) { return i < 0 || i >= numArgs; })) {
      func.emitError("amp-gpu-in-place-state: '")
          << kPairsAttr << "' must list (argument, out-parameter) index pairs of the function";
      return signalPassFailure();
    }
    if (!func.getBody().hasOneBlock())
      return;
    for (size_t i = 0; i < indices.size(); i += 2) {
      Value input = func.getArgument(indices[i]), output = func.getArgument(indices[i + 1]);
      if (input.getType() != output.getType()) {
        ++numRejected;
        return;
      }
      if (safeInPlace(func, input, output))
        continue;
      if (!sinkWriter(func, input, output) || !safeInPlace(func, input, output)) {
        ++numRejected;
        return;
      }
      ++numMoved;
    }
    func->setAttr(kInPlaceAttr, UnitAttr::get(&getContext()));
    ++numInPlace;
  }
};

} // namespace
