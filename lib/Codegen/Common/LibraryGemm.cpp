//===- LibraryGemm.cpp - matching GEMMs for runtime libraries ---------------===//

#include "ampc/Codegen/Common/LibraryGemm.h"

#include "ampc/Codegen/Common/BufferRoots.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace ampc::library {

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

/// Row-major buffers with unit inner stride, the layout the libraries read.
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

/// May `op` write to the buffer `root`? Distinct allocations never alias;
/// distinct step arguments are assumed not to (the runtime passes distinct
/// buffers).
/// The buffer a call into an ampc runtime writes (the one its output pointer
/// was taken from), when the call is one this file's passes emit.
static std::optional<Value> writtenByLibraryCall(func::CallOp call) {
  StringRef callee = call.getCallee();
  std::optional<unsigned> pointer;
  if (callee == "ampc_cpu_gemm" || callee == "ampc_cuda_gemm") {
    pointer = 15; // c
  } else if (callee == "ampc_cpu_conv2d") {
    // The operand each kind writes: y (forward), x (backward data), w.
    std::optional<int64_t> kind = getConstantIntValue(call.getOperand(0));
    if (kind && *kind >= 0 && *kind <= 2)
      pointer = *kind == 0 ? 25 : *kind == 1 ? 14 : 19;
  }
  if (!pointer || *pointer >= call.getNumOperands())
    return std::nullopt;
  Value address = call.getOperand(*pointer);
  if (auto add = address.getDefiningOp<arith::AddIOp>())
    address = add.getLhs();
  auto extract = address.getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
  if (!extract)
    return std::nullopt;
  return rootBuffer(extract.getSource());
}

bool mayWrite(Operation *op, Value root, bool seeLibraryCalls) {
  if (isMemoryEffectFree(op))
    return false;
  if (auto call = dyn_cast<func::CallOp>(op); call && seeLibraryCalls)
    if (std::optional<Value> written = writtenByLibraryCall(call))
      return *written == root;
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
/// The one transpose writing `input`, when nothing but `gemm` reads it.
static linalg::TransposeOp soleTranspose(Value input, Operation *gemm) {
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
  return transpose;
}

/// The transpose whose copy `gemm` reads from a buffer that holds several
/// transposed copies in turn (bufferization reuses one for each): the last
/// write before the GEMM, the next use after it an overwrite or a free.
static linalg::TransposeOp lastTranspose(Value input, Operation *gemm) {
  Block *block = gemm->getBlock();
  for (Operation *user : input.getUsers()) {
    if (isa<memref::DeallocOp, memref::DimOp>(user))
      continue;
    auto transpose = dyn_cast<linalg::TransposeOp>(user);
    if (user->getBlock() != block || (transpose && transpose.getInput() == input))
      return nullptr;
  }
  auto usesInput = [&](Operation *op) {
    return !isa<memref::DimOp>(op) && llvm::is_contained(op->getOperands(), input);
  };
  Operation *last = gemm->getPrevNode();
  while (last && !usesInput(last))
    last = last->getPrevNode();
  auto transpose = dyn_cast_or_null<linalg::TransposeOp>(last);
  if (!transpose || transpose.getInit() != input)
    return nullptr;
  Operation *next = gemm->getNextNode();
  while (next && !usesInput(next))
    next = next->getNextNode();
  if (next && !isa<memref::DeallocOp>(next)) {
    auto overwrite = dyn_cast<linalg::TransposeOp>(next);
    if (!overwrite || overwrite.getInit() != input)
      return nullptr;
  }
  return transpose;
}

linalg::TransposeOp foldableTranspose(Value input, Operation *gemm, const FoldingRules &rules) {
  if (!input.getDefiningOp<memref::AllocOp>())
    return nullptr;
  linalg::TransposeOp transpose =
      rules.reusedTransposeBuffers ? lastTranspose(input, gemm) : soleTranspose(input, gemm);
  if (!transpose)
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
    if (mayWrite(op, root, rules.seeLibraryCalls))
      return nullptr;
  return transpose;
}

/// Whether `fill` writes a constant zero.
bool isZeroFill(linalg::FillOp fill) {
  Attribute value;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&value)))
    return false;
  auto floatValue = dyn_cast<FloatAttr>(value);
  return floatValue && floatValue.getValue().isZero();
}

bool writesZeros(Operation *op, Value buffer) {
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.getOutputs()[0] == buffer && isZeroFill(fill);
  auto structured = dyn_cast<linalg::LinalgOp>(op);
  if (!structured || structured.getNumDpsInputs() != 0 || structured.getNumDpsInits() != 1 ||
      structured.getDpsInits()[0] != buffer || !structured.hasPureBufferSemantics() ||
      structured.getNumLoops() != structured.getNumParallelLoops() ||
      !llvm::all_of(structured.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return false;
  Block *body = structured.getBlock();
  Attribute value;
  if (body->getOperations().size() != 1 ||
      !matchPattern(body->getTerminator()->getOperand(0), m_Constant(&value)))
    return false;
  auto floatValue = dyn_cast<FloatAttr>(value);
  return floatValue && floatValue.getValue().isZero();
}

/// Whether the source of `copy` holds zeros when copied: a fresh
/// allocation whose last writer before the copy is a zero fill. One zeroed
/// tensor feeding several matmuls bufferizes to such a buffer and a copy per
/// matmul.
static bool copiesZeros(memref::CopyOp copy, bool seeLibraryCalls) {
  Value source = copy.getSource();
  if (!source.getDefiningOp<memref::AllocOp>())
    return false;
  for (Operation *op = copy->getPrevNode(); op; op = op->getPrevNode()) {
    if (!mayWrite(op, source, seeLibraryCalls))
      continue;
    auto fill = dyn_cast<linalg::FillOp>(op);
    return fill && fill.getOutputs()[0] == source && isZeroFill(fill);
  }
  return false;
}

/// The op that zeroes `output` for `gemm` (output being a fresh allocation,
/// only its uses can touch it): a linalg.fill of zero, or a copy from a
/// buffer that holds zeros, as the last writer before the GEMM.
Operation *foldableZeroInit(Value output, Operation *gemm, bool seeLibraryCalls) {
  if (!output.getDefiningOp<memref::AllocOp>())
    return nullptr;
  for (Operation *op = gemm->getPrevNode(); op; op = op->getPrevNode()) {
    if (!llvm::is_contained(op->getOperands(), output))
      continue;
    if (isa<memref::DimOp>(op))
      continue;
    if (auto fill = dyn_cast<linalg::FillOp>(op))
      return fill.getOutputs()[0] == output && isZeroFill(fill) ? op : nullptr;
    if (auto copy = dyn_cast<memref::CopyOp>(op))
      return copy.getTarget() == output && copiesZeros(copy, seeLibraryCalls) ? op : nullptr;
    return nullptr;
  }
  return nullptr;
}

/// The precision in which a payload value carries the block argument `arg`:
/// `arg` itself or `extf(arg)` carry it in arg's type, `extf(truncf(arg))`
/// in the truncated type. Adds the ops walked through to `chain`.
static std::optional<Type> carriedPrecision(Value value, BlockArgument arg,
                                            SmallPtrSetImpl<Operation *> &chain) {
  if (value == arg)
    return arg.getType();
  auto ext = value.getDefiningOp<arith::ExtFOp>();
  if (!ext)
    return std::nullopt;
  if (ext.getIn() == arg) {
    chain.insert(ext);
    return arg.getType();
  }
  auto trunc = ext.getIn().getDefiningOp<arith::TruncFOp>();
  if (!trunc || trunc.getIn() != arg)
    return std::nullopt;
  chain.insert(ext);
  chain.insert(trunc);
  return trunc.getType();
}

std::optional<BiasEpilogue> matchBiasEpilogue(linalg::GenericOp generic, Value c,
                                              Type inputType, bool allowRelu) {
  if (!generic.hasPureBufferSemantics() || generic.getNumDpsInputs() != 2 ||
      generic.getNumDpsInits() != 1 || generic.getNumLoops() != 2 ||
      generic.getNumParallelLoops() != 2)
    return std::nullopt;
  MLIRContext *ctx = generic.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap alongN = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  unsigned cIndex = generic.getDpsInputs()[0] == c ? 0 : 1;
  if (generic.getDpsInputs()[cIndex] != c || generic.getDpsInputs()[1 - cIndex] == c ||
      maps[cIndex] != identity || maps[1 - cIndex] != alongN || maps[2] != identity)
    return std::nullopt;
  BiasEpilogue epilogue;
  epilogue.generic = generic;
  epilogue.bias = generic.getDpsInputs()[1 - cIndex];
  epilogue.output = generic.getDpsInits()[0];
  auto biasType = dyn_cast<MemRefType>(epilogue.bias.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!biasType || failed(biasType.getStridesAndOffset(strides, offset)) || strides[0] != 1 ||
      !hasUnitInnerStride(epilogue.output))
    return std::nullopt;

  Block &body = generic.getRegion().front();
  BlockArgument cArg = body.getArgument(cIndex), biasArg = body.getArgument(1 - cIndex);
  Type outType = body.getArgument(2).getType();
  if (!body.getArgument(2).use_empty() || (!outType.isF32() && outType != inputType))
    return std::nullopt;
  SmallPtrSet<Operation *, 8> chain;
  Value sum = body.getTerminator()->getOperand(0);
  if (!outType.isF32()) {
    auto round = sum.getDefiningOp<arith::TruncFOp>();
    if (!round)
      return std::nullopt;
    chain.insert(round);
    sum = round.getIn();
  }
  // max(x, 0) with NaN propagating, as oneDNN's ReLU computes it.
  bool relu = false;
  if (auto max = sum.getDefiningOp<arith::MaximumFOp>(); max && allowRelu) {
    auto isZero = [](Value v) {
      Attribute value;
      auto f = matchPattern(v, m_Constant(&value)) ? dyn_cast<FloatAttr>(value) : FloatAttr();
      return f && f.getValue().isZero();
    };
    if (isZero(max.getRhs()) || isZero(max.getLhs())) {
      chain.insert(max);
      sum = isZero(max.getRhs()) ? max.getLhs() : max.getRhs();
      relu = true;
    }
  }
  auto add = sum.getDefiningOp<arith::AddFOp>();
  if (!add || !add.getType().isF32())
    return std::nullopt;
  chain.insert(add);
  for (bool swapped : {false, true}) {
    SmallPtrSet<Operation *, 8> operands;
    std::optional<Type> cPrecision =
        carriedPrecision(swapped ? add.getRhs() : add.getLhs(), cArg, operands);
    std::optional<Type> biasPrecision =
        carriedPrecision(swapped ? add.getLhs() : add.getRhs(), biasArg, operands);
    if (!cPrecision || !biasPrecision)
      continue;
    // The libraries add a bias of the output's type to the f32 accumulator and
    // rounds once. The payload may round the product to that type first
    // (double rounding that the epilogue leaves out); it must not round it
    // to anything else, nor the bias.
    if (*biasPrecision != outType || (!cPrecision->isF32() && *cPrecision != outType))
      return std::nullopt;
    chain.insert(operands.begin(), operands.end());
    if (chain.size() + 1 != body.getOperations().size())
      return std::nullopt; // the payload computes something else too
    epilogue.biasPrecision = *biasPrecision;
    epilogue.relu = relu;
    return epilogue;
  }
  return std::nullopt;
}

/// Whether the GEMM `gemm` may run at `consumer` instead (later in the same
/// block): nothing in between writes what it reads, and nothing in between
/// but the allocation touches `output`.
bool canMoveGemmTo(Operation *gemm, Operation *consumer, ArrayRef<Value> reads, Value output,
                   bool seeLibraryCalls) {
  if (consumer->getBlock() != gemm->getBlock() || !gemm->isBeforeInBlock(consumer))
    return false;
  Value outputRoot = rootBuffer(output);
  for (Operation *op = gemm->getNextNode(); op != consumer; op = op->getNextNode()) {
    for (Value read : reads)
      if (mayWrite(op, rootBuffer(read), seeLibraryCalls))
        return false;
    if (op == outputRoot.getDefiningOp())
      continue;
    bool touchesOutput = false;
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (rootBuffer(operand) == outputRoot)
          touchesOutput = true;
    });
    if (touchesOutput)
      return false;
  }
  return true;
}

/// The users of a GEMM result buffer besides the GEMM, its folded zero fill
/// and its frees.
SmallVector<Operation *> resultReaders(Value c, Operation *gemm, Operation *fill) {
  SmallVector<Operation *> readers;
  for (Operation *user : c.getUsers())
    if (user != gemm && user != fill && !isa<memref::DeallocOp, memref::DimOp>(user))
      readers.push_back(user);
  return readers;
}

/// Whether every reader of `c` is an elementwise-style generic that only
/// reads it as an input and rounds it to `type` first: the GEMM can then
/// write `type` directly (cuBLASLt rounds its f32 accumulator to nearest,
/// like arith.truncf).
bool readersRoundTo(ArrayRef<Operation *> readers, Value c, Type type) {
  if (readers.empty())
    return false;
  for (Operation *reader : readers) {
    auto generic = dyn_cast<linalg::GenericOp>(reader);
    if (!generic || !generic.hasPureBufferSemantics() ||
        llvm::is_contained(generic.getDpsInits(), c))
      return false;
    Block &body = generic.getRegion().front();
    for (OpOperand *input : generic.getDpsInputOperands()) {
      if (input->get() != c)
        continue;
      for (Operation *user : body.getArgument(input->getOperandNumber()).getUsers()) {
        auto trunc = dyn_cast<arith::TruncFOp>(user);
        if (!trunc || trunc.getType() != type || trunc.getRoundingmodeAttr())
          return false;
      }
    }
  }
  return true;
}

/// Rewrites the readers of `c` to read `narrow` (of the type they rounded to).
void readNarrowed(ArrayRef<Operation *> readers, Value c, Value narrow) {
  Type type = cast<MemRefType>(narrow.getType()).getElementType();
  for (Operation *reader : readers) {
    auto generic = cast<linalg::GenericOp>(reader);
    Block &body = generic.getRegion().front();
    for (OpOperand *input : generic.getDpsInputOperands()) {
      if (input->get() != c)
        continue;
      BlockArgument arg = body.getArgument(input->getOperandNumber());
      arg.setType(type);
      for (Operation *trunc : llvm::make_early_inc_range(arg.getUsers())) {
        trunc->getResult(0).replaceAllUsesWith(arg);
        trunc->erase();
      }
      input->set(narrow);
    }
  }
}


void dropIfUnread(Value buffer) {
  if (!llvm::all_of(buffer.getUsers(), [](Operation *u) { return isa<memref::DeallocOp>(u); }))
    return;
  for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
    user->erase();
  buffer.getDefiningOp()->erase();
}

void eraseFoldedProducers(ArrayRef<Operation *> folded) {
  for (Operation *producer : folded) {
    Value transposed, zeros;
    if (auto transpose = dyn_cast<linalg::TransposeOp>(producer))
      transposed = transpose.getInit();
    if (auto copy = dyn_cast<memref::CopyOp>(producer))
      zeros = copy.getSource();
    producer->erase();
    // A transposed copy nobody reads any more: drop it and its frees.
    if (transposed)
      dropIfUnread(transposed);
    // Zeros nobody copies any more: drop them, their fill and frees.
    if (zeros && llvm::all_of(zeros.getUsers(), [](Operation *user) {
          return isa<linalg::FillOp, memref::DeallocOp>(user);
        })) {
      for (Operation *user : llvm::make_early_inc_range(zeros.getUsers()))
        user->erase();
      zeros.getDefiningOp()->erase();
    }
  }
}

Value bufferAddress(OpBuilder &builder, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  auto metadata = memref::ExtractStridedMetadataOp::create(builder, loc, buffer);
  Value aligned = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  Value offsetBytes = arith::MulIOp::create(builder, loc, metadata.getOffset(),
                                            arith::ConstantIndexOp::create(builder, loc, bytes));
  // The aligned pointer is the base's: a view's offset comes on top.
  return arith::AddIOp::create(builder, loc, aligned, offsetBytes);
}

bool isMulAddBody(Block &body) {
  if (body.getNumArguments() != 3 || !llvm::hasSingleElement(body.getTerminator()->getOperands()))
    return false;
  BlockArgument out = body.getArgument(2);
  Type outType = out.getType();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body)
    return false;
  Value product = add.getLhs() == out ? add.getRhs() : add.getRhs() == out ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || mul->getBlock() != &body)
    return false;
  SmallPtrSet<Operation *, 4> used = {add, mul};
  // An input as is, or extended to the accumulator's type.
  auto inputArg = [&](Value v) -> std::optional<unsigned> {
    if (auto ext = v.getDefiningOp<arith::ExtFOp>()) {
      if (ext->getBlock() != &body || ext.getType() != outType)
        return std::nullopt;
      used.insert(ext);
      v = ext.getIn();
    }
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &body || arg.getArgNumber() > 1 || v.getType().isInteger())
      return std::nullopt;
    return arg.getArgNumber();
  };
  std::optional<unsigned> lhs = inputArg(mul.getLhs()), rhs = inputArg(mul.getRhs());
  if (!lhs || !rhs || *lhs == *rhs || !isa<FloatType>(outType))
    return false;
  // Nothing else in the payload (the terminator aside).
  return used.size() + 1 == body.getOperations().size();
}

LogicalResult rewriteToLibraryGemm(linalg::LinalgOp op, ModuleOp module,
                                   const LibraryGemmTarget &target, LibraryGemmCounts &counts) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op) || !isMulAddBody(*op.getBlock()))
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
                         typeB = typeCode(elementType(b.buffer)), typeC = typeCode(elementType(c));
  // The f32-accumulating combinations: equal input types; f32 inputs give
  // f32 outputs, f16/bf16 inputs give their own type or f32.
  if (!typeA || !typeB || !typeC || *typeA != *typeB || (*typeA == 0 && *typeC != 0) ||
      (*typeC != 0 && *typeC != *typeA))
    return failure();
  if (!hasUnitInnerStride(a.buffer) || !hasUnitInnerStride(b.buffer) || !hasUnitInnerStride(c))
    return failure();

  // Producers that fold into the call.
  SmallVector<Operation *> folded;
  bool sameBuffer = a.buffer == b.buffer;
  for (Operand *operand : {&a, &b}) {
    if (linalg::TransposeOp transpose = foldableTranspose(operand->buffer, op, target.rules)) {
      operand->buffer = transpose.getInput();
      operand->transposed = !operand->transposed;
      folded.push_back(transpose);
      ++counts.transposes;
      // A GEMM of a buffer with itself reads the source twice.
      if (sameBuffer) {
        b.buffer = a.buffer;
        b.transposed = !b.transposed;
        break;
      }
    }
  }
  float beta = 1.0f;
  Operation *fill = foldableZeroInit(c, op, target.rules.seeLibraryCalls);
  if (fill) {
    beta = 0.0f;
    folded.push_back(fill);
    ++counts.fills;
  }

  // Consumers that fold into the call, for a GEMM that starts from zero into
  // a buffer of its own: a bias addition (written by the library's
  // epilogue) or a rounding of every read to the input type (the library
  // writes that type). Either way no f32 result is written and read back.
  Operation *insertionPoint = op;
  std::optional<BiasEpilogue> epilogue;
  Value resultToDrop;
  Type lowType = elementType(a.buffer);
  if (fill && (*typeA != 0 || target.foldF32Consumers)) {
    SmallVector<Operation *> readers = resultReaders(c, op, fill);
    // The bias addition must be the result's one reader, or its first,
    // updating it in place (what later readers see is what the library
    // writes).
    Operation *firstReader = nullptr;
    for (Operation *reader : readers)
      if (reader->getBlock() == op->getBlock() &&
          (!firstReader || reader->isBeforeInBlock(firstReader)))
        firstReader = reader;
    auto generic = dyn_cast_or_null<linalg::GenericOp>(firstReader);
    if (generic && !batch && (readers.size() == 1 || llvm::is_contained(generic.getDpsInits(), c)))
      epilogue = matchBiasEpilogue(generic, c, lowType, target.foldRelu);
    if (epilogue && !canMoveGemmTo(op, epilogue->generic, {a.buffer, b.buffer, epilogue->bias},
                                   epilogue->output, target.rules.seeLibraryCalls))
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
      typeC = typeCode(elementType(c));
      ++counts.biasEpilogues;
      if (epilogue->relu)
        ++counts.reluEpilogues;
    } else if (*typeA != 0 && readersRoundTo(readers, c, lowType)) {
      OpBuilder builder(c.getDefiningOp());
      Operation *narrow = builder.clone(*c.getDefiningOp());
      auto type = cast<MemRefType>(c.getType());
      narrow->getResult(0).setType(
          MemRefType::get(type.getShape(), lowType, type.getLayout(), type.getMemorySpace()));
      readNarrowed(readers, c, narrow->getResult(0));
      resultToDrop = c;
      c = narrow->getResult(0);
      typeC = typeA;
      ++counts.narrowedResults;
    }
  }

  OpBuilder builder(insertionPoint);
  Location loc = op.getLoc();
  Type i32 = builder.getI32Type(), index = builder.getIndexType();
  func::FuncOp callee = module.lookupSymbol<func::FuncOp>(target.function);
  if (!callee) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    SmallVector<Type> inputs(5, i32);
    inputs.append(4, index); // batch, m, n, k
    inputs.append(9, index); // a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c
    inputs.push_back(builder.getF32Type()); // beta
    inputs.push_back(index);                 // bias (0: none)
    if (target.takesEpilogueKinds)
      inputs.append(2, i32); // bias type, post-op
    callee = func::FuncOp::create(builder, module.getLoc(), target.function,
                                  builder.getFunctionType(inputs, {}));
    callee.setPrivate();
  }
  auto constIndex = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, v);
  };
  auto constI32 = [&](int32_t v) -> Value {
    return arith::ConstantIntOp::create(builder, loc, v, 32);
  };
  // Address, leading dimension and batch stride of a buffer, from its
  // strided metadata.
  struct Address {
    Value pointer, ld, batchStride;
  };
  auto addressOf = [&](Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    auto metadata = memref::ExtractStridedMetadataOp::create(builder, loc, buffer);
    Address address;
    address.pointer = bufferAddress(builder, loc, buffer);
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
  // The bias, in the type the library adds it in (the output's): as stored,
  // or rounded into a temporary.
  Value biasPointer = constIndex(0);
  Value roundedBias;
  int32_t biasType = 0;
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
    biasPointer = bufferAddress(builder, loc, bias);
  }
  if (epilogue)
    biasType = *typeCode(epilogue->biasPrecision);
  SmallVector<Value> args{constI32(*typeA), constI32(*typeB), constI32(*typeC),
                          constI32(a.transposed), constI32(b.transposed), batchSize,
                          mSize, nSize, kSize,
                          addrA.pointer, addrA.ld, addrA.batchStride,
                          addrB.pointer, addrB.ld, addrB.batchStride,
                          addrC.pointer, addrC.ld, addrC.batchStride, betaValue,
                          biasPointer};
  if (target.takesEpilogueKinds) {
    args.push_back(constI32(biasType));
    args.push_back(constI32(epilogue && epilogue->relu ? 1 : 0));
  }
  func::CallOp::create(builder, loc, callee, args);
  if (roundedBias)
    memref::DeallocOp::create(builder, loc, roundedBias);
  ++counts.gemms;

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

} // namespace ampc::library
