//===- AMPCollectivesToMPI.cpp - amp collectives to the mpi dialect ---------===//
//
// Part of convert-amp-to-standard. An amp.all_reduce bucket becomes one
// amp.all_reduce_in_place on a flat buffer: the operands are packed into a
// fresh tensor, the op reduces its buffer in place (a writable to_buffer),
// and the results are views of it. The in-place op declares its memory effects, which the upstream
// mpi.allreduce does not (buffer deallocation refuses such ops), so it
// becomes mpi.allreduce only after deallocation (amp-cpu-collectives-to-mpi).
// That op takes memrefs and counts only their first dimension, hence the
// flat 1-D buffer.
//
//===----------------------------------------------------------------------===//

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace ampc;

/// The CPU runtime's MPI_Comm_size for compiled steps, which stops the
/// process with a message when MPI is not up (runtime/cpu/ampc_cpu_mpi.h).
static constexpr llvm::StringLiteral kWorldSizeFunction = "ampc_mpi_step_world_size";

/// `value` as a 1-D tensor of its elements (row-major).
static Value flatten(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto flatType = RankedTensorType::get({type.getNumElements()}, type.getElementType());
  if (type.getRank() == 1)
    return value;
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, flatType, value,
                                         ArrayRef<ReassociationIndices>{});
  ReassociationIndices all = llvm::to_vector<2>(llvm::seq<int64_t>(0, type.getRank()));
  return tensor::CollapseShapeOp::create(b, loc, flatType, value,
                                         ArrayRef<ReassociationIndices>{all});
}

/// The inverse of flatten: `flat` (1-D) in the shape of `type`.
static Value unflatten(OpBuilder &b, Location loc, Value flat, RankedTensorType type) {
  if (type.getRank() == 1)
    return flat;
  if (type.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, type, flat, ArrayRef<ReassociationIndices>{});
  ReassociationIndices all = llvm::to_vector<2>(llvm::seq<int64_t>(0, type.getRank()));
  return tensor::ExpandShapeOp::create(b, loc, type, flat, ArrayRef<ReassociationIndices>{all});
}

/// The `size` elements of the 1-D `flat` from `offset`.
static Value extractFlat(OpBuilder &b, Location loc, Value flat, int64_t offset, int64_t size) {
  return tensor::ExtractSliceOp::create(b, loc, flat,
                                        ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
                                        ArrayRef<OpFoldResult>{b.getIndexAttr(size)},
                                        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

/// The 1-D `part` written into the 1-D `flat` from `offset`.
static Value insertFlat(OpBuilder &b, Location loc, Value part, Value flat, int64_t offset) {
  int64_t size = cast<RankedTensorType>(part.getType()).getNumElements();
  return tensor::InsertSliceOp::create(b, loc, part, flat,
                                       ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
                                       ArrayRef<OpFoldResult>{b.getIndexAttr(size)},
                                       ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

namespace {
/// Pack into a fresh flat tensor -> amp.all_reduce_in_place on its buffer -> views.
struct AllReduceOpLowering : OpConversionPattern<amp::AllReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::AllReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ValueRange inputs = adaptor.getInputs();
    Type element = cast<RankedTensorType>(inputs.front().getType()).getElementType();
    int64_t total = 0;
    for (Value input : inputs)
      total += cast<RankedTensorType>(input.getType()).getNumElements();
    auto flatType = RankedTensorType::get({total}, element);

    // Always a fresh tensor, also for one input: the reduced buffer must
    // alias nothing the step still reads or writes (to_tensor restrict).
    Value packed = tensor::EmptyOp::create(rewriter, loc, flatType.getShape(), element);
    int64_t offset = 0;
    for (Value input : inputs) {
      packed = insertFlat(rewriter, loc, flatten(rewriter, loc, input), packed, offset);
      offset += cast<RankedTensorType>(input.getType()).getNumElements();
    }
    // Reduced in place in the packed tensor's own (fresh) buffer;
    // MPI_IN_PLACE once amp-cpu-collectives-to-mpi makes it an
    // mpi.allreduce.
    auto bufferType = MemRefType::get({total}, element);
    Value buffer = bufferization::ToBufferOp::create(rewriter, loc, bufferType, packed);
    amp::AllReduceInPlaceOp::create(rewriter, loc, op.getKind(), buffer);
    Value reduced = bufferization::ToTensorOp::create(rewriter, loc, flatType, buffer,
                                                      /*restrict=*/true, /*writable=*/true);

    SmallVector<Value> results;
    offset = 0;
    for (Type type : op.getResultTypes()) {
      auto resultType = cast<RankedTensorType>(type);
      int64_t size = resultType.getNumElements();
      Value slice = extractFlat(rewriter, loc, reduced, offset, size);
      results.push_back(unflatten(rewriter, loc, slice, resultType));
      offset += size;
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A call to the runtime's world size (mpi.comm_size has no lowering in
/// MLIR 22), as an f32 scalar tensor; the callee is declared up front
/// (declareAMPCollectivesRuntime).
struct WorldSizeOpLowering : OpConversionPattern<amp::WorldSizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(amp::WorldSizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        op, StringAttr::get(getContext(), kWorldSizeFunction));
    if (!callee)
      return rewriter.notifyMatchFailure(op, "the runtime's world size is not declared");
    Location loc = op.getLoc();
    Value size = func::CallOp::create(rewriter, loc, callee, ValueRange{}).getResult(0);
    Value asFloat = arith::SIToFPOp::create(rewriter, loc, rewriter.getF32Type(), size);
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, op.getType(), ValueRange{asFloat});
    return success();
  }
};
} // namespace

LogicalResult ampc::declareAMPCollectivesRuntime(Operation *root) {
  bool needed = root->walk([](amp::WorldSizeOp) { return WalkResult::interrupt(); })
                    .wasInterrupted();
  if (!needed)
    return success();
  auto module = dyn_cast<ModuleOp>(root);
  if (!module)
    return root->emitError("convert-amp-to-standard: amp.world_size needs the pass to run on "
                           "the module, where it declares the runtime's @")
           << kWorldSizeFunction;
  OpBuilder b(module.getContext());
  auto type = b.getFunctionType({}, {b.getI32Type()});
  if (auto existing = module.lookupSymbol<func::FuncOp>(kWorldSizeFunction)) {
    if (existing.getFunctionType() != type)
      return existing.emitError("the module declares @")
             << kWorldSizeFunction << " as " << existing.getFunctionType()
             << ", not the runtime's " << type;
    return success();
  }
  b.setInsertionPointToStart(module.getBody());
  auto callee = func::FuncOp::create(b, module.getLoc(), kWorldSizeFunction, type);
  callee.setPrivate();
  return success();
}

void ampc::populateAMPCollectivesToMPIPatterns(RewritePatternSet &patterns) {
  patterns.add<AllReduceOpLowering, WorldSizeOpLowering>(patterns.getContext());
}
