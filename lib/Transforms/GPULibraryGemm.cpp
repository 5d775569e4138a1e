//===- GPULibraryGemm.cpp - the amp-gpu-library-gemm pass -------------------===//
//
// Matmul-like ops on buffers become calls to ampc_cuda_gemm (cuBLASLt), with
// zero fills folded into beta and feeding transposes into the GEMM's flags.
//
//===----------------------------------------------------------------------===//

#include "ampc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPULIBRARYGEMM
#include "ampc/Transforms/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

static constexpr llvm::StringLiteral kGemmFunction = "ampc_cuda_gemm";

namespace {

/// One GEMM operand: the buffer read and whether it is stored transposed
/// (KxM for A, NxK for B) relative to the row-major product.
struct Operand {
  Value buffer;
  bool transposed = false;
};

/// Element type codes of ampc_cuda_runtime.h (AMPC_F32/F16/BF16).
std::optional<int32_t> typeCode(Type type) {
  if (type.isF32())
    return 0;
  if (type.isF16())
    return 1;
  if (type.isBF16())
    return 2;
  return std::nullopt;
}

/// The positions (as dims of the op's loops) a 2-D or batched 3-D operand
/// map must have: [batch?, first, second] or [batch?, second, first]. Sets
/// `transposed` for the second order; fails for anything else.
LogicalResult matchOperandMap(AffineMap map, std::optional<unsigned> batch, unsigned first,
                              unsigned second, bool &transposed) {
  SmallVector<unsigned> dims;
  for (AffineExpr expr : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim)
      return failure();
    dims.push_back(dim.getPosition());
  }
  unsigned start = 0;
  if (batch) {
    if (dims.empty() || dims[0] != *batch)
      return failure();
    start = 1;
  }
  if (dims.size() != start + 2)
    return failure();
  if (dims[start] == first && dims[start + 1] == second)
    transposed = false;
  else if (dims[start] == second && dims[start + 1] == first)
    transposed = true;
  else
    return failure();
  return success();
}

/// Row-major buffers with unit inner stride, the only layout cuBLASLt reads.
bool hasUnitInnerStride(Value buffer) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  if (!type || !type.hasRank() || type.getRank() < 2)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides.back() == 1;
}

/// The buffer a view was taken from (through subviews, casts, ...).
Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// May `op` write to the buffer `root`? Distinct allocations never alias;
/// distinct step arguments are assumed not to (the runtime passes distinct
/// buffers).
bool mayWrite(Operation *op, Value root) {
  if (isMemoryEffectFree(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return true;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  for (const MemoryEffects::EffectInstance &effect : instances) {
    if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
      continue;
    Value written = effect.getValue();
    if (!written || rootBuffer(written) == root)
      return true;
  }
  return false;
}

/// If `input` is a fresh buffer written only by a linalg.transpose of its
/// last two dims and read only by `gemm`, returns the transpose (whose source
/// the GEMM can read with the flag flipped instead).
linalg::TransposeOp foldableTranspose(Value input, Operation *gemm) {
  auto alloc = input.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return nullptr;
  linalg::TransposeOp transpose;
  for (Operation *user : input.getUsers()) {
    if (user == gemm || isa<memref::DeallocOp>(user))
      continue;
    auto candidate = dyn_cast<linalg::TransposeOp>(user);
    if (!candidate || transpose || candidate.getInit() != input)
      return nullptr;
    transpose = candidate;
  }
  if (!transpose || transpose->getBlock() != gemm->getBlock() ||
      !transpose->isBeforeInBlock(gemm))
    return nullptr;
  // Only the last two dims swap; a batch dim stays in place.
  ArrayRef<int64_t> permutation = transpose.getPermutation();
  int64_t rank = permutation.size();
  for (int64_t i = 0; i < rank - 2; ++i)
    if (permutation[i] != i)
      return nullptr;
  if (permutation[rank - 2] != rank - 1 || permutation[rank - 1] != rank - 2)
    return nullptr;
  Value source = transpose.getInput();
  if (!hasUnitInnerStride(source) || !isa<MemRefType>(source.getType()))
    return nullptr;
  // The source must hold the same values when the GEMM reads it.
  Value root = rootBuffer(source);
  for (Operation *op = transpose->getNextNode(); op != gemm; op = op->getNextNode())
    if (mayWrite(op, root))
      return nullptr;
  return transpose;
}

/// A linalg.fill of zero into `output` that is the last writer before `gemm`
/// (output being a fresh allocation, only its uses can touch it).
linalg::FillOp foldableZeroFill(Value output, Operation *gemm) {
  if (!output.getDefiningOp<memref::AllocOp>())
    return nullptr;
  for (Operation *op = gemm->getPrevNode(); op; op = op->getPrevNode()) {
    bool usesOutput = llvm::is_contained(op->getOperands(), output);
    if (!usesOutput)
      continue;
    auto fill = dyn_cast<linalg::FillOp>(op);
    if (!fill || fill.getOutputs()[0] != output)
      return nullptr;
    Attribute value;
    if (!matchPattern(fill.getInputs()[0], m_Constant(&value)))
      return nullptr;
    auto floatValue = dyn_cast<FloatAttr>(value);
    if (!floatValue || !floatValue.getValue().isZero())
      return nullptr;
    return fill;
  }
  return nullptr;
}

class GPULibraryGemmPass : public ampc::impl::AMPGPULibraryGemmBase<GPULibraryGemmPass> {
public:
  using AMPGPULibraryGemmBase::AMPGPULibraryGemmBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::LinalgOp> candidates;
    module.walk([&](linalg::LinalgOp op) {
      // Kernels already inside GPU code are not host GEMMs.
      if (!op->getParentOfType<gpu::GPUModuleOp>() && !op->getParentOfType<gpu::LaunchOp>())
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates)
      (void)rewrite(op);
  }

private:
  func::FuncOp getOrDeclareGemm(OpBuilder &builder) {
    ModuleOp module = getOperation();
    if (auto existing = module.lookupSymbol<func::FuncOp>(kGemmFunction))
      return existing;
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    Type i32 = builder.getI32Type(), index = builder.getIndexType();
    SmallVector<Type> inputs(5, i32);
    inputs.append(4, index);      // batch, m, n, k
    inputs.append(9, index);      // a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c
    inputs.push_back(builder.getF32Type()); // beta
    auto function = func::FuncOp::create(builder, module.getLoc(), kGemmFunction,
                                         builder.getFunctionType(inputs, {}));
    function.setPrivate();
    return function;
  }

  LogicalResult rewrite(linalg::LinalgOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        !linalg::isaContractionOpInterface(op))
      return failure();
    FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1 ||
        dims->batch.size() > 1)
      return failure();
    std::optional<unsigned> batch;
    if (!dims->batch.empty())
      batch = dims->batch.front();
    unsigned m = dims->m.front(), n = dims->n.front(), k = dims->k.front();

    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    Operand a{op.getDpsInputs()[0]}, b{op.getDpsInputs()[1]};
    Value c = op.getDpsInits()[0];
    bool cTransposed = false;
    if (failed(matchOperandMap(maps[0], batch, m, k, a.transposed)) ||
        failed(matchOperandMap(maps[1], batch, k, n, b.transposed)) ||
        failed(matchOperandMap(maps[2], batch, m, n, cTransposed)) || cTransposed)
      return failure();

    auto elementType = [](Value v) { return cast<MemRefType>(v.getType()).getElementType(); };
    std::optional<int32_t> typeA = typeCode(elementType(a.buffer)),
                           typeB = typeCode(elementType(b.buffer)),
                           typeC = typeCode(elementType(c));
    // cuBLASLt's f32-compute combinations: equal input types; f32 inputs
    // give f32 outputs, f16/bf16 inputs give their own type or f32.
    if (!typeA || !typeB || !typeC || *typeA != *typeB ||
        (*typeA == 0 && *typeC != 0) || (*typeC != 0 && *typeC != *typeA))
      return failure();
    if (!hasUnitInnerStride(a.buffer) || !hasUnitInnerStride(b.buffer) || !hasUnitInnerStride(c))
      return failure();

    // Producers that fold into the call.
    SmallVector<Operation *> folded;
    for (Operand *operand : {&a, &b}) {
      if (linalg::TransposeOp transpose = foldableTranspose(operand->buffer, op)) {
        operand->buffer = transpose.getInput();
        operand->transposed = !operand->transposed;
        folded.push_back(transpose);
        ++numFoldedTransposes;
      }
    }
    float beta = 1.0f;
    if (linalg::FillOp fill = foldableZeroFill(c, op)) {
      beta = 0.0f;
      folded.push_back(fill);
      ++numFoldedFills;
    }

    OpBuilder builder(op);
    Location loc = op.getLoc();
    func::FuncOp callee = getOrDeclareGemm(builder);
    auto constIndex = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(builder, loc, v);
    };
    auto constI32 = [&](int32_t v) -> Value {
      return arith::ConstantIntOp::create(builder, loc, v, 32);
    };
    // Address (aligned pointer + offset in bytes), leading dimension and
    // batch stride of a buffer, from its strided metadata.
    struct Address {
      Value pointer, ld, batchStride;
    };
    auto addressOf = [&](Value buffer) {
      auto type = cast<MemRefType>(buffer.getType());
      auto metadata = memref::ExtractStridedMetadataOp::create(builder, loc, buffer);
      Value aligned = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
      int64_t bytes = type.getElementTypeBitWidth() / 8;
      Value offsetBytes = arith::MulIOp::create(builder, loc, metadata.getOffset(),
                                                constIndex(bytes));
      // The aligned pointer is the base's: a view's offset comes on top.
      Address address;
      address.pointer = arith::AddIOp::create(builder, loc, aligned, offsetBytes);
      int64_t rank = type.getRank();
      address.ld = metadata.getStrides()[rank - 2];
      address.batchStride = batch ? metadata.getStrides()[0] : constIndex(0);
      return address;
    };
    auto sizeOf = [&](Value buffer, int64_t dim) -> Value {
      return memref::DimOp::create(builder, loc, buffer, dim);
    };
    int64_t cRank = cast<MemRefType>(c.getType()).getRank();
    Value batchSize = batch ? sizeOf(c, 0) : constIndex(1);
    Value mSize = sizeOf(c, cRank - 2), nSize = sizeOf(c, cRank - 1);
    int64_t aRank = cast<MemRefType>(a.buffer.getType()).getRank();
    Value kSize = sizeOf(a.buffer, a.transposed ? aRank - 2 : aRank - 1);
    Address addrA = addressOf(a.buffer), addrB = addressOf(b.buffer), addrC = addressOf(c);
    Value betaValue = arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(beta));
    SmallVector<Value> args{constI32(*typeA), constI32(*typeB), constI32(*typeC),
                            constI32(a.transposed), constI32(b.transposed), batchSize,
                            mSize, nSize, kSize,
                            addrA.pointer, addrA.ld, addrA.batchStride,
                            addrB.pointer, addrB.ld, addrB.batchStride,
                            addrC.pointer, addrC.ld, addrC.batchStride, betaValue};
    func::CallOp::create(builder, loc, callee, args);
    ++numGemms;

    op->erase();
    for (Operation *producer : folded) {
      Value buffer = isa<linalg::TransposeOp>(producer)
                         ? cast<linalg::TransposeOp>(producer).getInit()
                         : Value();
      producer->erase();
      // A transposed copy nobody reads any more: drop it and its frees.
      if (!buffer)
        continue;
      if (llvm::all_of(buffer.getUsers(), [](Operation *u) { return isa<memref::DeallocOp>(u); })) {
        for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
          user->erase();
        buffer.getDefiningOp()->erase();
      }
    }
    return success();
  }
};

} // namespace
