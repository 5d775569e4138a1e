//===- CPULibraryGemm.cpp - the amp-cpu-library-gemm pass -------------------===//
//
// Matmul-like ops and 2-D convolutions on buffers become calls into ampc's
// CPU runtime (oneDNN). GEMMs share their matching with amp-gpu-library-gemm
// (LibraryGemm.h); convolutions are recognised from their indexing maps in
// any of the three forms a training step has: the forward (named or
// generic, any layout), the weights' gradient (the output is the kernel) and
// the input's gradient, which amp-differentiate writes as a stride-1
// convolution of the output gradient spread out by the stride, over the
// flipped kernel.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Codegen/Common/BufferRoots.h"
#include "ampc/Codegen/Common/LibraryGemm.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/BuiltinOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPULIBRARYGEMM
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using namespace ampc::library;

static constexpr llvm::StringLiteral kGemmFunction = "ampc_cpu_gemm";
static constexpr llvm::StringLiteral kConvFunction = "ampc_cpu_conv2d";

// ampc_cpu_runtime.h's convolution kinds.
enum ConvKind : int32_t { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

namespace {

/// One term `dim * coefficient` of an operand's index expression.
struct Term {
  unsigned dim;
  int64_t coefficient;
};

/// The terms of `d`, `d * c`, `d0 * c0 + d1 * c1` (any order); nothing for
/// any other expression.
std::optional<SmallVector<Term, 2>> termsOf(AffineExpr expr) {
  auto term = [](AffineExpr e) -> std::optional<Term> {
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      return Term{dim.getPosition(), 1};
    auto mul = dyn_cast<AffineBinaryOpExpr>(e);
    if (!mul || mul.getKind() != AffineExprKind::Mul)
      return std::nullopt;
    AffineExpr lhs = mul.getLHS(), rhs = mul.getRHS();
    if (isa<AffineConstantExpr>(lhs))
      std::swap(lhs, rhs);
    auto dim = dyn_cast<AffineDimExpr>(lhs);
    auto constant = dyn_cast<AffineConstantExpr>(rhs);
    if (!dim || !constant || constant.getValue() <= 0)
      return std::nullopt;
    return Term{dim.getPosition(), constant.getValue()};
  };
  if (auto add = dyn_cast<AffineBinaryOpExpr>(expr); add && add.getKind() == AffineExprKind::Add) {
    std::optional<Term> lhs = term(add.getLHS()), rhs = term(add.getRHS());
    if (!lhs || !rhs || lhs->dim == rhs->dim)
      return std::nullopt;
    return SmallVector<Term, 2>{*lhs, *rhs};
  }
  if (std::optional<Term> single = term(expr))
    return SmallVector<Term, 2>{*single};
  return std::nullopt;
}

/// A 2-D convolution read off a structured op's maps: which operand plays
/// the image x (N, G*C, H, W), the kernel w (G, K, C, KH, KW) and the
/// output y (N, G*K, OH, OW), which loop each logical dimension is, and at
/// which result of each operand's map it sits.
struct ConvShape {
  unsigned x, w, y; ///< operand numbers (the op's output is w or y)
  ConvKind kind;
  std::optional<unsigned> n, g, c, k; ///< loops (absent: extent 1)
  unsigned oh, ow, kh, kw;            ///< loops
  int64_t sh, sw, dh, dw;             ///< strides and dilations
  unsigned xh, xw;                    ///< x's results holding the windows
};

/// The result position of loop `dim` in `map`, where it is a plain result.
std::optional<unsigned> resultOf(AffineMap map, std::optional<unsigned> dim) {
  if (!dim)
    return std::nullopt;
  for (auto [i, expr] : llvm::enumerate(map.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(expr); d && d.getPosition() == *dim)
      return i;
  return std::nullopt;
}

/// Classifies `op` as a convolution with image operand `x`, kernel `w` and
/// output `y` (a permutation of 0, 1, 2 with 2 the op's output).
std::optional<ConvShape> classify(linalg::LinalgOp op, unsigned x, unsigned w, unsigned y) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned loops = op.getNumLoops();
  // Loops each of w and y index plainly.
  auto plainDims = [&](unsigned operand) -> std::optional<llvm::SmallDenseSet<unsigned>> {
    llvm::SmallDenseSet<unsigned> dims;
    for (AffineExpr expr : maps[operand].getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim || !dims.insert(dim.getPosition()).second)
        return std::nullopt;
    }
    return dims;
  };
  std::optional<llvm::SmallDenseSet<unsigned>> inW = plainDims(w), inY = plainDims(y);
  if (!inW || !inY)
    return std::nullopt;

  ConvShape shape;
  shape.x = x;
  shape.w = w;
  shape.y = y;
  shape.kind = y == 2 ? kForward : kBackwardWeights;
  SmallVector<int> role(loops, -1);
  enum Role { N, G, C, K, OH, OW, KH, KW };
  auto assign = [&](unsigned dim, int r) {
    if (dim >= loops || role[dim] != -1)
      return false;
    role[dim] = r;
    return true;
  };
  unsigned windows = 0;
  llvm::SmallDenseSet<unsigned> inX;
  for (auto [i, expr] : llvm::enumerate(maps[x].getResults())) {
    std::optional<SmallVector<Term, 2>> terms = termsOf(expr);
    if (!terms)
      return std::nullopt;
    if (terms->size() == 1) {
      // A plain image dimension: batch, channel or group.
      Term t = terms->front();
      if (t.coefficient != 1 || !inX.insert(t.dim).second)
        return std::nullopt;
      bool w_ = inW->contains(t.dim), y_ = inY->contains(t.dim);
      int r = w_ && y_ ? G : y_ ? N : w_ ? C : -1;
      if (r == -1 || !assign(t.dim, r))
        return std::nullopt;
      std::optional<unsigned> &slot = r == G ? shape.g : r == N ? shape.n : shape.c;
      slot = t.dim;
      continue;
    }
    // A window: the output position times the stride plus the kernel
    // position times the dilation.
    if (windows == 2)
      return std::nullopt;
    Term o = (*terms)[0], kk = (*terms)[1];
    if (!inY->contains(o.dim))
      std::swap(o, kk);
    if (!inY->contains(o.dim) || inW->contains(o.dim) || !inW->contains(kk.dim) ||
        inY->contains(kk.dim))
      return std::nullopt;
    if (!assign(o.dim, windows == 0 ? OH : OW) || !assign(kk.dim, windows == 0 ? KH : KW))
      return std::nullopt;
    inX.insert(o.dim);
    inX.insert(kk.dim);
    (windows == 0 ? shape.oh : shape.ow) = o.dim;
    (windows == 0 ? shape.kh : shape.kw) = kk.dim;
    (windows == 0 ? shape.sh : shape.sw) = o.coefficient;
    (windows == 0 ? shape.dh : shape.dw) = kk.coefficient;
    (windows == 0 ? shape.xh : shape.xw) = i;
    ++windows;
  }
  if (windows != 2)
    return std::nullopt;
  // The output channels: in w and y, not in the image.
  for (unsigned dim : *inW) {
    if (inX.contains(dim))
      continue;
    if (!inY->contains(dim) || !assign(dim, K))
      return std::nullopt;
    shape.k = dim;
  }
  for (unsigned dim : *inY)
    if (!inX.contains(dim) && dim != shape.k)
      return std::nullopt;
  if (llvm::is_contained(role, -1))
    return std::nullopt;
  // The written operand's loops are parallel, the others reductions.
  llvm::SmallDenseSet<unsigned> written = shape.y == 2 ? *inY : *inW;
  for (auto [dim, type] : llvm::enumerate(op.getIteratorTypesArray()))
    if ((type == utils::IteratorType::parallel) != written.contains(dim))
      return std::nullopt;
  return shape;
}

/// Static extent of `loop` in `op`, or the dynamic marker.
int64_t extent(linalg::LinalgOp op, std::optional<unsigned> loop) {
  return loop ? op.getStaticLoopRanges()[*loop] : 1;
}

/// The convolution `op` computes, if it is one: the first operand with
/// window expressions is the image; of the two ways to read the others, the
/// one whose kernel window is not larger than its output's (with unit
/// strides and dilations both are valid: a weights' gradient is also a
/// forward convolution with a kernel as large as the output).
/// Of two readings of one convolution, the one oneDNN runs well: the
/// image's batch first (NCHW or NHWC; a reading that takes the channels
/// for the batch makes oneDNN reorder and run a 512-image batch of 8
/// channels), then the smaller window (a backward-weights generic reads
/// either way, and its window is the kernel's, not the image's). Only when
/// the image is no larger than the kernel (ResNet's last layers on small
/// inputs) does the window alone pick the wrong one.
bool betterReading(linalg::LinalgOp op, const ConvShape &a, const ConvShape &b) {
  auto batchFirst = [&](const ConvShape &s) {
    return !s.n || resultOf(op.getIndexingMapsArray()[s.x], s.n) == 0u;
  };
  if (batchFirst(a) != batchFirst(b))
    return batchFirst(a);
  auto window = [&](const ConvShape &s) {
    int64_t h = extent(op, s.kh), w = extent(op, s.kw);
    return ShapedType::isDynamic(h) || ShapedType::isDynamic(w) ? -1 : h * w;
  };
  return window(a) < window(b);
}

std::optional<ConvShape> matchConv(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !isMulAddBody(*op.getBlock()))
    return std::nullopt;
  std::optional<ConvShape> best;
  for (unsigned x : {0u, 1u}) {
    for (auto [w, y] : {std::pair<unsigned, unsigned>{1 - x, 2}, {2, 1 - x}}) {
      std::optional<ConvShape> shape = classify(op, x, w, y);
      if (!shape)
        continue;
      if (!best || betterReading(op, *shape, *best))
        best = shape;
    }
  }
  return best;
}

/// An image read through a zero-padded copy: a fresh buffer filled with
/// zeros and `source` copied into its interior, both before `conv`.
struct PaddedImage {
  Value source;
  int64_t top, left;
  /// Frees of the source between the copy and the convolution, to move
  /// after it (amp-free-after-last-use then places them).
  SmallVector<Operation *> laterFrees;
};

std::optional<PaddedImage> matchPadding(Value image, Operation *conv, unsigned hResult,
                                        unsigned wResult) {
  auto alloc = image.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != conv->getBlock())
    return std::nullopt;
  Operation *fill = nullptr;
  memref::SubViewOp interior;
  for (Operation *user : image.getUsers()) {
    if (writesZeros(user, image)) {
      if (fill)
        return std::nullopt;
      fill = user;
    } else if (auto view = dyn_cast<memref::SubViewOp>(user)) {
      if (interior)
        return std::nullopt;
      interior = view;
    } else if (mayWrite(user, image, /*seeLibraryCalls=*/true)) {
      if (!isa<memref::DeallocOp>(user))
        return std::nullopt;
    }
  }
  if (!fill || !interior || !interior->hasOneUse())
    return std::nullopt;
  auto copy = dyn_cast<memref::CopyOp>(*interior->getUsers().begin());
  if (!copy || copy.getTarget() != interior.getResult() || fill->getBlock() != conv->getBlock() ||
      copy->getBlock() != conv->getBlock() || !fill->isBeforeInBlock(copy) ||
      !copy->isBeforeInBlock(conv))
    return std::nullopt;
  auto type = cast<MemRefType>(image.getType());
  if (!type.hasStaticShape() || interior.getSourceType().getRank() != interior.getType().getRank())
    return std::nullopt;
  ArrayRef<int64_t> offsets = interior.getStaticOffsets(), sizes = interior.getStaticSizes(),
                    strides = interior.getStaticStrides();
  PaddedImage padded{copy.getSource(), 0, 0};
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (ShapedType::isDynamic(offsets[d]) || ShapedType::isDynamic(sizes[d]) || strides[d] != 1)
      return std::nullopt;
    if (d == hResult || d == wResult) {
      (d == hResult ? padded.top : padded.left) = offsets[d];
      continue;
    }
    if (offsets[d] != 0 || sizes[d] != type.getDimSize(d))
      return std::nullopt;
  }
  // The source holds the same values when the convolution reads it; a free
  // of a buffer of this function's own can wait.
  Value root = rootBuffer(padded.source);
  for (Operation *op = copy->getNextNode(); op != conv; op = op->getNextNode()) {
    if (!mayWrite(op, root, /*seeLibraryCalls=*/true))
      continue;
    auto free = dyn_cast<memref::DeallocOp>(op);
    if (!free || free.getMemref() != root || !root.getDefiningOp<memref::AllocOp>())
      return std::nullopt;
    padded.laterFrees.push_back(op);
  }
  return padded;
}

/// Whether every side of `padded` is narrower than the window reaching
/// into it. A wider one is legal arithmetic, but it came out wrong once: a
/// forward convolution over a 1x1 image (ResNet-18's layer4 at 32x32), then
/// read as f32 backward weights with a 1x1 window, padding 1 and the
/// image's batch and channels swapped, was right after the first training
/// step and wrong after the third. The runtime call alone, with the
/// arguments the rewrite emitted (swapped strides, padding 1), is right on
/// repeated calls, and the step stays wrong without the buffer cache, so
/// the fault lies in how the folded call sits in the step and is not found
/// yet; such padding is kept as a copy.
bool padsWithinWindow(const PaddedImage &padded, Value image, linalg::LinalgOp conv,
                      const ConvShape &shape) {
  auto paddedType = cast<MemRefType>(image.getType());
  auto sourceType = cast<MemRefType>(padded.source.getType());
  auto fits = [&](unsigned result, int64_t before, unsigned windowLoop, int64_t dilation) {
    int64_t window = extent(conv, windowLoop);
    if (ShapedType::isDynamic(window) || sourceType.isDynamicDim(result))
      return false;
    int64_t reach = (window - 1) * dilation;
    int64_t after = paddedType.getDimSize(result) - sourceType.getDimSize(result) - before;
    return before <= reach && after <= reach;
  };
  return fits(shape.xh, padded.top, shape.kh, shape.dh) &&
         fits(shape.xw, padded.left, shape.kw, shape.dw);
}

/// Erases a zero-padded copy nobody reads any more.
void dropUnreadPadding(Value image) {
  auto alloc = image.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return;
  SmallVector<Operation *> users(image.getUsers().begin(), image.getUsers().end());
  for (Operation *user : users)
    if (!isa<memref::SubViewOp, memref::DeallocOp>(user) && !writesZeros(user, image))
      return;
  for (Operation *user : users)
    if (auto view = dyn_cast<memref::SubViewOp>(user))
      for (Operation *copy : llvm::make_early_inc_range(view->getUsers()))
        copy->erase();
  for (Operation *user : users)
    user->erase();
  alloc->erase();
}

/// An output gradient spread out by the stride: a fresh buffer filled with
/// zeros and `source` copied into it with strides (sh, sw) starting at
/// (top, left), the only writes to it before `conv`.
struct SpreadGradient {
  Value source;
  int64_t top, left, sh, sw;
};

std::optional<SpreadGradient> matchSpread(Value image, Operation *conv, unsigned hResult,
                                          unsigned wResult) {
  auto alloc = image.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != conv->getBlock())
    return std::nullopt;
  Operation *fill = nullptr;
  memref::SubViewOp spread;
  for (Operation *user : image.getUsers()) {
    if (writesZeros(user, image)) {
      if (fill)
        return std::nullopt;
      fill = user;
    } else if (auto view = dyn_cast<memref::SubViewOp>(user)) {
      if (spread)
        return std::nullopt;
      spread = view;
    } else if (mayWrite(user, image, /*seeLibraryCalls=*/true) && !isa<memref::DeallocOp>(user)) {
      return std::nullopt;
    }
  }
  if (!fill || !spread || !spread->hasOneUse())
    return std::nullopt;
  auto copy = dyn_cast<memref::CopyOp>(*spread->getUsers().begin());
  if (!copy || copy.getTarget() != spread.getResult() || fill->getBlock() != conv->getBlock() ||
      copy->getBlock() != conv->getBlock() || !fill->isBeforeInBlock(copy) ||
      !copy->isBeforeInBlock(conv))
    return std::nullopt;
  auto type = cast<MemRefType>(image.getType());
  if (!type.hasStaticShape() || spread.getSourceType().getRank() != spread.getType().getRank())
    return std::nullopt;
  ArrayRef<int64_t> offsets = spread.getStaticOffsets(), sizes = spread.getStaticSizes(),
                    strides = spread.getStaticStrides();
  SpreadGradient result{copy.getSource(), 0, 0, 1, 1};
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (ShapedType::isDynamic(offsets[d]) || ShapedType::isDynamic(sizes[d]) ||
        ShapedType::isDynamic(strides[d]))
      return std::nullopt;
    if (d == hResult || d == wResult) {
      (d == hResult ? result.top : result.left) = offsets[d];
      (d == hResult ? result.sh : result.sw) = strides[d];
      continue;
    }
    if (offsets[d] != 0 || strides[d] != 1 || sizes[d] != type.getDimSize(d))
      return std::nullopt;
  }
  Value root = rootBuffer(result.source);
  for (Operation *op = copy->getNextNode(); op != conv; op = op->getNextNode())
    if (mayWrite(op, root, /*seeLibraryCalls=*/true))
      return std::nullopt;
  return result;
}

/// A kernel flipped in both window dimensions: a fresh buffer written by a
/// copy-only generic reading `source` at (KH-1-i, KW-1-j), before `conv`.
/// Returns the source and the flipped buffer's map (result i of the flipped
/// buffer = result perm[i] of the source).
struct FlippedKernel {
  Value source;
  linalg::GenericOp flip;
};

std::optional<FlippedKernel> matchFlip(Value kernel, Operation *conv, unsigned khResult,
                                       unsigned kwResult) {
  auto alloc = kernel.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return std::nullopt;
  linalg::GenericOp flip;
  for (Operation *user : kernel.getUsers()) {
    if (user == conv || isa<memref::DeallocOp>(user))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || flip || generic.getNumDpsInits() != 1 || generic.getDpsInits()[0] != kernel)
      return std::nullopt;
    flip = generic;
  }
  if (!flip || flip.getNumDpsInputs() != 1 || flip.getNumLoops() != flip.getNumParallelLoops() ||
      flip->getBlock() != conv->getBlock() || !flip->isBeforeInBlock(conv))
    return std::nullopt;
  // The payload copies (possibly converting, which the convolution's
  // operand type then records).
  Block &body = flip.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(0);
  if (yielded != body.getArgument(0) || body.getOperations().size() != 1)
    return std::nullopt;
  auto type = cast<MemRefType>(kernel.getType());
  AffineMap in = flip.getIndexingMapsArray()[0], out = flip.getIndexingMapsArray()[1];
  if (!type.hasStaticShape() || !out.isIdentity() || in.getNumResults() != type.getRank())
    return std::nullopt;
  MLIRContext *ctx = flip.getContext();
  for (int64_t d = 0; d < type.getRank(); ++d) {
    AffineExpr expected = getAffineDimExpr(d, ctx);
    if (d == khResult || d == kwResult)
      expected = getAffineConstantExpr(type.getDimSize(d) - 1, ctx) - expected;
    if (in.getResult(d) != expected)
      return std::nullopt;
  }
  Value source = flip.getDpsInputs()[0];
  if (cast<MemRefType>(source.getType()).getElementType() != type.getElementType())
    return std::nullopt;
  Value root = rootBuffer(source);
  for (Operation *op = flip->getNextNode(); op != conv; op = op->getNextNode())
    if (mayWrite(op, root, /*seeLibraryCalls=*/true))
      return std::nullopt;
  return FlippedKernel{source, flip};
}

/// `op` with each run of consecutive loops of one kind that every operand
/// reads together, in order (the M dimensions of a linear layer applied to
/// (batch, tokens, features), which reshape propagation folded into the
/// contraction), merged into one loop: the GEMM a library call computes
/// has one M, one N and one K. Buffers must have the identity layout, so
/// that merged dimensions are contiguous. Returns `op` itself when there is
/// nothing to merge or the merge is not possible.
linalg::LinalgOp mergeContiguousDims(linalg::LinalgOp op, RewriterBase &rewriter) {
  if (!op.hasPureBufferSemantics() || !isa<linalg::GenericOp>(op.getOperation()))
    return op;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.getLayout().isIdentity() || !type.hasStaticShape())
      return op;
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<ReassociationIndices> groups;
  bool merges = false;
  for (int64_t dim = 0, e = iterators.size(); dim < e; ++dim) {
    if (!groups.empty() && iterators[groups.back().back()] == iterators[dim]) {
      ReassociationIndices wider = groups.back();
      wider.push_back(dim);
      if (linalg::areDimSequencesPreserved(maps, {wider})) {
        groups.back() = std::move(wider);
        merges = true;
        continue;
      }
    }
    groups.push_back({dim});
  }
  if (!merges)
    return op;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed = linalg::collapseOpIterationDims(op, groups, rewriter);
  if (failed(collapsed))
    return op;
  rewriter.eraseOp(op); // buffer semantics: no results to replace
  return cast<linalg::LinalgOp>(collapsed->collapsedOp.getOperation());
}

class CPULibraryGemmPass : public ampc::impl::AMPCPULibraryGemmBase<CPULibraryGemmPass> {
public:
  using AMPCPULibraryGemmBase::AMPCPULibraryGemmBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Only contractions and convolutions: a rewrite erases other structured
    // ops (fills, transposes, bias additions, flips), never one of these.
    SmallVector<linalg::LinalgOp> gemms, convs;
    IRRewriter rewriter(&getContext());
    module.walk([&](linalg::LinalgOp op) {
      if (linalg::isaContractionOpInterface(op))
        gemms.push_back(mergeContiguousDims(op, rewriter));
      else if (convolutions && matchConv(op))
        convs.push_back(op);
    });
    LibraryGemmTarget target;
    target.function = kGemmFunction;
    target.takesEpilogueKinds = true;
    target.foldF32Consumers = true;
    target.foldRelu = true;
    target.rules.seeLibraryCalls = true;
    target.rules.reusedTransposeBuffers = true;
    LibraryGemmCounts counts;
    for (linalg::LinalgOp op : gemms)
      (void)rewriteToLibraryGemm(op, module, target, counts);
    numGemms += counts.gemms;
    numFoldedTransposes += counts.transposes;
    numFoldedFills += counts.fills;
    numBiasEpilogues += counts.biasEpilogues;
    numReluEpilogues += counts.reluEpilogues;
    numNarrowedResults += counts.narrowedResults;
    for (linalg::LinalgOp op : convs)
      (void)rewriteConv(op);
  }

private:
  func::FuncOp getOrDeclareConv(OpBuilder &builder) {
    ModuleOp module = getOperation();
    if (auto existing = module.lookupSymbol<func::FuncOp>(kConvFunction))
      return existing;
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(module.getBody());
    Type i32 = builder.getI32Type(), index = builder.getIndexType();
    SmallVector<Type> inputs(4, i32);   // kind, type x, w, y
    inputs.append(10, index);          // n, groups, c, h, w, k, kh, kw, oh, ow
    inputs.append(5 + 6 + 5, index);   // x + 4 strides, w + 5, y + 4
    inputs.append(8, index);           // sh, sw, dh, dw, pt, pl, pb, pr
    inputs.push_back(builder.getF32Type()); // beta
    inputs.push_back(index);                 // bias
    inputs.append(2, i32);                   // bias type, post-op
    auto function = func::FuncOp::create(builder, module.getLoc(), kConvFunction,
                                         builder.getFunctionType(inputs, {}));
    function.setPrivate();
    return function;
  }

  LogicalResult rewriteConv(linalg::LinalgOp op) {
    std::optional<ConvShape> shape = matchConv(op);
    if (!shape)
      return failure();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    Value operands[3] = {op.getDpsInputs()[0], op.getDpsInputs()[1], op.getDpsInits()[0]};
    Value x = operands[shape->x], w = operands[shape->w], y = operands[shape->y];
    auto elementType = [](Value v) { return cast<MemRefType>(v.getType()).getElementType(); };
    std::optional<int32_t> typeX = typeCode(elementType(x)), typeW = typeCode(elementType(w)),
                           typeY = typeCode(elementType(y));
    Value written = operands[2];
    // The image and the other input share a type; the output is f32 or that.
    std::optional<int32_t> typeIn = typeX, typeOther = shape->kind == kForward ? typeW : typeY,
                           typeOut = shape->kind == kForward ? typeY : typeW;
    if (!typeX || !typeW || !typeY || *typeIn != *typeOther ||
        (*typeIn == 0 && *typeOut != 0) || (*typeOut != 0 && *typeOut != *typeIn))
      return failure();

    // Where each logical dimension sits in each operand.
    AffineMap mx = maps[shape->x], mw = maps[shape->w], my = maps[shape->y];
    auto memrefType = [](Value v) { return cast<MemRefType>(v.getType()); };
    // A group dimension next to a channel dimension must be the outer part
    // of one channel index (g * C + c), which oneDNN's layouts assume.
    auto groupsNest = [&](Value buffer, AffineMap map, std::optional<unsigned> inner) {
      std::optional<unsigned> gPos = resultOf(map, shape->g), iPos = resultOf(map, inner);
      if (!gPos || !iPos)
        return true;
      SmallVector<int64_t> strides;
      int64_t offset;
      MemRefType type = memrefType(buffer);
      return succeeded(type.getStridesAndOffset(strides, offset)) &&
             !ShapedType::isDynamic(strides[*gPos]) && !ShapedType::isDynamic(strides[*iPos]) &&
             !type.isDynamicDim(*iPos) &&
             strides[*gPos] == strides[*iPos] * type.getDimSize(*iPos);
    };
    if (!groupsNest(x, mx, shape->c) || !groupsNest(y, my, shape->k))
      return failure();

    ConvKind kind = shape->kind;
    // The input gradient: a stride-1 forward over the output gradient spread
    // out by the stride and padded by the kernel's reach, with the kernel
    // flipped, is the backward-data convolution of the unspread gradient.
    std::optional<SpreadGradient> spread;
    std::optional<FlippedKernel> flipped;
    std::optional<PaddedImage> padded;
    // A stride-1 forward's input gradient has no spread, only the padding
    // (within the kernel's reach): the same backward-data convolution with
    // stride 1.
    if (kind == kForward && shape->sh == 1 && shape->sw == 1) {
      std::optional<unsigned> khPos = resultOf(mw, shape->kh), kwPos = resultOf(mw, shape->kw);
      spread = matchSpread(x, op, shape->xh, shape->xw);
      if (!spread && (padded = matchPadding(x, op, shape->xh, shape->xw)) &&
          padsWithinWindow(*padded, x, op, *shape))
        spread = SpreadGradient{padded->source, padded->top, padded->left, 1, 1};
      if (khPos && kwPos)
        flipped = matchFlip(w, op, *khPos, *kwPos);
      // Grouped input gradients keep the spread form.
      if (!flipped || shape->g) {
        spread.reset();
        flipped.reset();
      }
    }
    if (!spread) {
      padded = matchPadding(x, op, shape->xh, shape->xw);
      if (padded && !padsWithinWindow(*padded, x, op, *shape))
        padded.reset();
    }

    // A low-precision result every reader rounds is written rounded.
    Operation *fill = foldableZeroInit(written, op, /*seeLibraryCalls=*/true);
    float beta = fill ? 0.0f : 1.0f;
    std::optional<int32_t> narrowed;
    SmallVector<Operation *> readers;
    if (fill && *typeIn != 0 && *typeOut == 0) {
      readers = resultReaders(written, op, fill);
      if (readersRoundTo(readers, written, elementType(x)))
        narrowed = *typeIn;
    }

    OpBuilder builder(op);
    Location loc = op.getLoc();
    func::FuncOp callee = getOrDeclareConv(builder);
    if (narrowed) {
      OpBuilder allocBuilder(written.getDefiningOp());
      Operation *narrow = allocBuilder.clone(*written.getDefiningOp());
      MemRefType type = memrefType(written);
      Type lowType = elementType(x);
      narrow->getResult(0).setType(
          MemRefType::get(type.getShape(), lowType, type.getLayout(), type.getMemorySpace()));
      readNarrowed(readers, written, narrow->getResult(0));
      Value old = written;
      written = narrow->getResult(0);
      if (shape->kind == kForward) {
        y = written;
        typeY = narrowed;
      } else {
        w = written;
        typeW = narrowed;
      }
      fill->erase();
      fill = nullptr;
      ++numFoldedFills;
      old.replaceAllUsesExcept(written, op);
      operands[2] = written;
      op->setOperand(2, written); // erased below; keeps the IR valid meanwhile
      old.getDefiningOp()->erase();
      ++numNarrowedResults;
    }

    auto constIndex = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(builder, loc, v);
    };
    auto constI32 = [&](int32_t v) -> Value {
      return arith::ConstantIntOp::create(builder, loc, v, 32);
    };
    struct Strided {
      Value pointer;
      memref::ExtractStridedMetadataOp metadata;
    };
    auto strided = [&](Value buffer) {
      return Strided{bufferAddress(builder, loc, buffer),
                     memref::ExtractStridedMetadataOp::create(builder, loc, buffer)};
    };
    // The stride of the logical dimension at `pos` (0 where it is absent).
    auto strideAt = [&](Strided &s, std::optional<unsigned> pos) -> Value {
      return pos ? s.metadata.getStrides()[*pos] : constIndex(0);
    };
    auto sizeAt = [&](Value buffer, std::optional<unsigned> pos) -> Value {
      return pos ? Value(memref::DimOp::create(builder, loc, buffer, *pos)) : constIndex(1);
    };
    auto mul = [&](Value a, Value b) -> Value { return arith::MulIOp::create(builder, loc, a, b); };
    auto add = [&](Value a, Value b) -> Value { return arith::AddIOp::create(builder, loc, a, b); };
    auto sub = [&](Value a, Value b) -> Value { return arith::SubIOp::create(builder, loc, a, b); };

    // Sizes: batch, groups and channels from the image and the kernel, the
    // windows from the kernel and the output.
    // (Read from the buffers the call reads, so that a folded padding, spread
    // or flip has no users left.)
    Value imageSource = spread ? spread->source : padded ? padded->source : x;
    Value kernelSource = flipped ? flipped->source : w;
    Value n = sizeAt(imageSource, resultOf(mx, shape->n));
    Value groups = sizeAt(imageSource, resultOf(mx, shape->g));
    Value c = sizeAt(kernelSource, resultOf(mw, shape->c));
    Value k = sizeAt(kernelSource, resultOf(mw, shape->k));
    Value kh = sizeAt(kernelSource, resultOf(mw, shape->kh));
    Value kw = sizeAt(kernelSource, resultOf(mw, shape->kw));
    Value oh = sizeAt(y, resultOf(my, shape->oh)), ow = sizeAt(y, resultOf(my, shape->ow));
    Value sh = constIndex(shape->sh), sw = constIndex(shape->sw);
    Value dh = constIndex(shape->dh), dw = constIndex(shape->dw);
    Value image = x, imageH, imageW, pt = constIndex(0), pl = constIndex(0);
    Value gradient, kernel = w;
    if (spread) {
      // The convolution whose input gradient this is: output gradient
      // `source` (the spread's source), stride the spread's, padding the
      // kernel's reach minus the spread's offset, input extent the output's.
      kind = kBackwardData;
      gradient = spread->source;
      kernel = flipped->source;
      image = y;              // the written input gradient
      imageH = oh;            // its extents
      imageW = ow;
      Value reachH = mul(sub(kh, constIndex(1)), dh), reachW = mul(sub(kw, constIndex(1)), dw);
      pt = sub(reachH, constIndex(spread->top));
      pl = sub(reachW, constIndex(spread->left));
      sh = constIndex(spread->sh);
      sw = constIndex(spread->sw);
      // The forward's output extent: the gradient's.
      oh = sizeAt(gradient, shape->xh);
      ow = sizeAt(gradient, shape->xw);
      // The flipped kernel's roles are the forward's transposed: its output
      // channels (k here) are the forward's input channels.
      std::swap(c, k);
    } else {
      if (padded) {
        image = padded->source;
        pt = constIndex(padded->top);
        pl = constIndex(padded->left);
      }
      imageH = sizeAt(image, shape->xh);
      imageW = sizeAt(image, shape->xw);
    }
    // Bottom/right padding: what the last window reaches past the image
    // (negative: rows no window reads).
    auto farPad = [&](Value out, Value stride, Value kernelSize, Value dilation, Value size,
                      Value near) {
      Value last = add(mul(sub(out, constIndex(1)), stride),
                       add(mul(sub(kernelSize, constIndex(1)), dilation), constIndex(1)));
      return sub(sub(last, size), near);
    };
    Value pb = farPad(oh, sh, kh, dh, imageH, pt), pr = farPad(ow, sw, kw, dw, imageW, pl);

    SmallVector<Value> args{constI32(kind), constI32(0), constI32(0), constI32(0), n, groups, c,
                            imageH, imageW, k, kh, kw, oh, ow};
    // Operands in the runtime's logical orders.
    Value xBuffer, wBuffer = kernel, yBuffer;
    std::optional<unsigned> xn, xc, xh, xw, wg, wk, wc, wh, ww, yn, yc, yh, yw;
    AffineMap mk = mw;
    int32_t tx, tw, ty;
    if (spread) {
      // x: the written input gradient (the op's output y, laid out (n, c,
      // h, w) by the op's output map); y: the unspread gradient, laid out
      // like the spread buffer; w: the unflipped kernel, whose layout is the
      // flipped one's (the flip maps results one to one).
      xBuffer = y;
      yBuffer = gradient;
      xn = resultOf(my, shape->n);
      xc = resultOf(my, shape->k);
      xh = resultOf(my, shape->oh);
      xw = resultOf(my, shape->ow);
      yn = resultOf(mx, shape->n);
      yc = resultOf(mx, shape->c);
      yh = shape->xh;
      yw = shape->xw;
      wg = resultOf(mk, shape->g);
      wk = resultOf(mk, shape->c); // the forward's output channels
      wc = resultOf(mk, shape->k); // the forward's input channels
      wh = resultOf(mk, shape->kh);
      ww = resultOf(mk, shape->kw);
      tx = *typeY;
      tw = *typeW;
      ty = *typeX;
    } else {
      xBuffer = image;
      yBuffer = y;
      xn = resultOf(mx, shape->n);
      xc = shape->c ? resultOf(mx, shape->c) : resultOf(mx, shape->g);
      xh = shape->xh;
      xw = shape->xw;
      wg = resultOf(mw, shape->g);
      wk = resultOf(mw, shape->k);
      wc = resultOf(mw, shape->c);
      wh = resultOf(mw, shape->kh);
      ww = resultOf(mw, shape->kw);
      yn = resultOf(my, shape->n);
      yc = shape->k ? resultOf(my, shape->k) : resultOf(my, shape->g);
      yh = resultOf(my, shape->oh);
      yw = resultOf(my, shape->ow);
      tx = *typeX;
      tw = *typeW;
      ty = *typeY;
    }
    args[1] = constI32(tx);
    args[2] = constI32(tw);
    args[3] = constI32(ty);
    Strided sx = strided(xBuffer), sk = strided(wBuffer), syy = strided(yBuffer);
    args.append({sx.pointer, strideAt(sx, xn), strideAt(sx, xc), strideAt(sx, xh),
                 strideAt(sx, xw)});
    args.append({sk.pointer, strideAt(sk, wg), strideAt(sk, wk), strideAt(sk, wc),
                 strideAt(sk, wh), strideAt(sk, ww)});
    args.append({syy.pointer, strideAt(syy, yn), strideAt(syy, yc), strideAt(syy, yh),
                 strideAt(syy, yw)});
    args.append({sh, sw, dh, dw, pt, pl, pb, pr});
    args.push_back(arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(beta)));
    args.push_back(constIndex(0));
    args.push_back(constI32(0));
    args.push_back(constI32(0));
    auto call = func::CallOp::create(builder, loc, callee, args);
    if (padded)
      for (Operation *free : padded->laterFrees)
        free->moveAfter(call);
    ++numConvolutions;
    if (kind == kBackwardData)
      ++numBackwardData;
    if (kind == kBackwardWeights)
      ++numBackwardWeights;

    Value oldImage = x, oldKernel = w;
    op->erase();
    if (fill) {
      fill->erase();
      ++numFoldedFills;
    }
    if (spread) {
      dropUnreadPadding(oldImage); // the spread or padded buffer (fill, subview, copy)
    } else if (padded) {
      ++numFoldedPadding;
      dropUnreadPadding(oldImage);
    }
    if (flipped && llvm::all_of(oldKernel.getUsers(), [&](Operation *u) {
          return u == flipped->flip || isa<memref::DeallocOp>(u);
        })) {
      flipped->flip->erase();
      dropIfUnread(oldKernel);
    }
    return success();
  }
};

} // namespace
