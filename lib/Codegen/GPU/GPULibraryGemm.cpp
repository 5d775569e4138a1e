//===- GPULibraryGemm.cpp - the amp-gpu-library-gemm pass -------------------===//
//
// Matmul-like ops on buffers become calls to ampc_cuda_gemm (cuBLASLt), with
// zero fills folded into beta, feeding transposes into the GEMM's flags, and
// a consuming bias addition or rounding into the GEMM's epilogue and output
// type.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "ampc/Codegen/Common/BufferRoots.h"
#include "ampc/Codegen/Common/LibraryGemm.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPULIBRARYGEMM
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

static constexpr llvm::StringLiteral kGemmFunction = "ampc_cuda_gemm";

using namespace ampc::library;

namespace {

class GPULibraryGemmPass : public ampc::impl::AMPGPULibraryGemmBase<GPULibraryGemmPass> {
public:
  using AMPGPULibraryGemmBase::AMPGPULibraryGemmBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::LinalgOp> candidates;
    module.walk([&](linalg::LinalgOp op) {
      // Kernels already inside GPU code are not host GEMMs. Only
      // contractions: a rewrite erases other structured ops (fills,
      // transposes, bias additions), never another contraction.
      if (!op->getParentOfType<gpu::GPUModuleOp>() && !op->getParentOfType<gpu::LaunchOp>() &&
          linalg::isaContractionOpInterface(op))
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
    inputs.push_back(index);                 // bias (0: none)
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
    Operation *fill = foldableZeroInit(c, op);
    if (fill) {
      beta = 0.0f;
      folded.push_back(fill);
      ++numFoldedFills;
    }

    // Consumers that fold into the call, for a low-precision GEMM that
    // starts from zero into a buffer of its own: a bias addition (written by
    // cuBLASLt's epilogue) or a rounding of every read to the input type
    // (cuBLASLt writes that type). Either way no f32 result is written.
    Operation *insertionPoint = op;
    std::optional<BiasEpilogue> epilogue;
    Value resultToDrop;
    Type lowType = elementType(a.buffer);
    if (fill && *typeA != 0) {
      SmallVector<Operation *> readers = resultReaders(c, op, fill);
      // The bias addition must be the result's one reader, or its first,
      // updating it in place (what later readers see is what cuBLASLt writes).
      Operation *firstReader = nullptr;
      for (Operation *reader : readers)
        if (reader->getBlock() == op->getBlock() &&
            (!firstReader || reader->isBeforeInBlock(firstReader)))
          firstReader = reader;
      auto generic = dyn_cast_or_null<linalg::GenericOp>(firstReader);
      if (generic && !batch &&
          (readers.size() == 1 || llvm::is_contained(generic.getDpsInits(), c)))
        epilogue = matchBiasEpilogue(generic, c, lowType, /*allowRelu=*/false);
      if (epilogue && !canMoveGemmTo(op, epilogue->generic, {a.buffer, b.buffer, epilogue->bias},
                                     epilogue->output))
        epilogue.reset();
      // The GEMM must not read what it writes (an output that reuses an
      // operand's buffer).
      if (epilogue && llvm::any_of(ValueRange{a.buffer, b.buffer, epilogue->bias}, [&](Value read) {
            return rootBuffer(read) == rootBuffer(epilogue->output);
          }))
        epilogue.reset();
      if (epilogue) {
        insertionPoint = epilogue->generic;
        resultToDrop = c;
        c = epilogue->output;
        typeC = typeCode(cast<MemRefType>(c.getType()).getElementType());
        ++numBiasEpilogues;
      } else if (readersRoundTo(readers, c, lowType)) {
        OpBuilder builder(c.getDefiningOp());
        Operation *narrow = builder.clone(*c.getDefiningOp());
        auto type = cast<MemRefType>(c.getType());
        narrow->getResult(0).setType(MemRefType::get(type.getShape(), lowType, type.getLayout(),
                                                     type.getMemorySpace()));
        readNarrowed(readers, c, narrow->getResult(0));
        resultToDrop = c;
        c = narrow->getResult(0);
        typeC = typeA;
        ++numNarrowedResults;
      }
    }

    OpBuilder builder(insertionPoint);
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
    // The bias, in the type cuBLASLt adds it in (the output's): as stored,
    // or rounded into a temporary.
    Value biasPointer = constIndex(0);
    Value roundedBias;
    if (epilogue) {
      Value bias = epilogue->bias;
      auto biasType = cast<MemRefType>(bias.getType());
      if (biasType.getElementType() != epilogue->biasPrecision) {
        Value length = memref::DimOp::create(builder, loc, bias, 0);
        roundedBias = memref::AllocOp::create(
            builder, loc, MemRefType::get({biasType.getDimSize(0)}, epilogue->biasPrecision),
            biasType.isDynamicDim(0) ? ValueRange{length} : ValueRange{});
        AffineMap identity = builder.getMultiDimIdentityMap(1);
        Type precision = epilogue->biasPrecision;
        linalg::GenericOp::create(
            builder, loc, ValueRange{bias}, ValueRange{roundedBias},
            ArrayRef<AffineMap>{identity, identity},
            ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
            [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
              Value rounded = arith::TruncFOp::create(nested, nestedLoc, precision, args[0]);
              linalg::YieldOp::create(nested, nestedLoc, rounded);
            });
        bias = roundedBias;
      }
      Value aligned = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, bias);
      auto metadata = memref::ExtractStridedMetadataOp::create(builder, loc, bias);
      int64_t bytes = cast<MemRefType>(bias.getType()).getElementTypeBitWidth() / 8;
      biasPointer = arith::AddIOp::create(
          builder, loc, aligned,
          arith::MulIOp::create(builder, loc, metadata.getOffset(), constIndex(bytes)));
    }
    SmallVector<Value> args{constI32(*typeA), constI32(*typeB), constI32(*typeC),
                            constI32(a.transposed), constI32(b.transposed), batchSize,
                            mSize, nSize, kSize,
                            addrA.pointer, addrA.ld, addrA.batchStride,
                            addrB.pointer, addrB.ld, addrB.batchStride,
                            addrC.pointer, addrC.ld, addrC.batchStride, betaValue,
                            biasPointer};
    func::CallOp::create(builder, loc, callee, args);
    if (roundedBias)
      memref::DeallocOp::create(builder, loc, roundedBias);
    ++numGemms;

    op->erase();
    if (epilogue)
      epilogue->generic->erase();
    eraseFoldedProducers(folded);
    // The f32 result nobody reads any more.
    if (resultToDrop) {
      if (epilogue)
        dropIfUnread(resultToDrop);
      else {
        // Its frees now free the narrow buffer.
        resultToDrop.replaceAllUsesWith(c);
        resultToDrop.getDefiningOp()->erase();
      }
    }
    return success();
  }
};

} // namespace
