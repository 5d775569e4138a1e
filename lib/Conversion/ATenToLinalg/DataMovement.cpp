//===- DataMovement.cpp - aten views, slices, joins, pads, indexing ---------===//
//
// Views and slices become tensor ops (reshapes, extract/insert_slice,
// concat, pad) that amp-differentiate differentiates directly; broadcasts,
// permutations and flips become linalg copies; advanced indexing a gather.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::aten_to_linalg;

namespace {

/// A strided slice of `x` along `dim` (the rest whole).
Value sliceAlong(OpBuilder &b, Location loc, Value x, int64_t dim, int64_t start, int64_t size,
                 int64_t step = 1) {
  RankedTensorType type = tensorType(x);
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = size;
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = b.getIndexAttr(start);
  strides[dim] = b.getIndexAttr(step);
  return tensor::ExtractSliceOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()),
                                        x, offsets, staticSizes(b, shape), strides);
}

/// `src` written over the strided slice of `dest` along `dim`.
Value insertAlong(OpBuilder &b, Location loc, Value src, Value dest, int64_t dim, int64_t start,
                  int64_t step) {
  RankedTensorType type = tensorType(dest);
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  offsets[dim] = b.getIndexAttr(start);
  strides[dim] = b.getIndexAttr(step);
  return tensor::InsertSliceOp::create(b, loc, src, dest, offsets,
                                       staticSizes(b, tensorType(src).getShape()), strides);
}

/// `x`'s shape with a unit dimension inserted at `dim`.
SmallVector<int64_t> withUnitDim(Value x, int64_t dim) {
  SmallVector<int64_t> shape(tensorType(x).getShape());
  shape.insert(shape.begin() + dim, 1);
  return shape;
}

/// Concatenation, keeping a single operand as it is.
Value concat(OpBuilder &b, Location loc, ValueRange parts, int64_t dim) {
  if (parts.size() == 1)
    return parts.front();
  return tensor::ConcatOp::create(b, loc, dim, parts);
}

struct ViewLowering : OpConversionPattern<aten::ViewOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::ViewOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTensor(rewriter, op.getLoc(), adaptor.getSelf(),
                                         op.getResult().getType().getShape()));
    return success();
  }
};

struct PermuteLowering : OpConversionPattern<aten::PermuteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::PermuteOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, transposeTensor(rewriter, op.getLoc(), adaptor.getSelf(), op.getDims()));
    return success();
  }
};

struct ExpandLowering : OpConversionPattern<aten::ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::ExpandOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, broadcastAndConvert(rewriter, op.getLoc(), adaptor.getSelf(),
                                               op.getResult().getType()));
    return success();
  }
};

struct SliceLowering : OpConversionPattern<aten::SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    int64_t dim = op.getDim();
    if (op.getResult().getType() == op.getSelf().getType()) {
      rewriter.replaceOp(op, adaptor.getSelf());
      return success();
    }
    rewriter.replaceOp(op, sliceAlong(rewriter, op.getLoc(), adaptor.getSelf(), dim, op.getStart(),
                                      op.getResult().getType().getDimSize(dim), op.getStep()));
    return success();
  }
};

struct SelectLowering : OpConversionPattern<aten::SelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::SelectOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value slice = sliceAlong(rewriter, op.getLoc(), adaptor.getSelf(), op.getDim(), op.getIndex(), 1);
    rewriter.replaceOp(op, reshapeTensor(rewriter, op.getLoc(), slice,
                                         op.getResult().getType().getShape()));
    return success();
  }
};

struct SliceScatterLowering : OpConversionPattern<aten::SliceScatterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::SliceScatterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, insertAlong(rewriter, op.getLoc(), adaptor.getSrc(), adaptor.getSelf(),
                                       op.getDim(), op.getStart(), op.getStep()));
    return success();
  }
};

struct SelectScatterLowering : OpConversionPattern<aten::SelectScatterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::SelectScatterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value src = reshapeTensor(rewriter, loc, adaptor.getSrc(), withUnitDim(adaptor.getSrc(), op.getDim()));
    rewriter.replaceOp(op, insertAlong(rewriter, loc, src, adaptor.getSelf(), op.getDim(),
                                       op.getIndex(), 1));
    return success();
  }
};

struct CatLowering : OpConversionPattern<aten::CatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::CatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    // Mixed element types join in the result's (PyTorch promotes them).
    Type element = op.getResult().getType().getElementType();
    SmallVector<Value> parts;
    for (Value t : adaptor.getTensors())
      if (tensorType(t).getDimSize(op.getDim()) != 0)
        parts.push_back(broadcastAndConvert(rewriter, op.getLoc(), t, tensorType(t).clone(element)));
    if (parts.empty())
      parts.push_back(adaptor.getTensors().front());
    rewriter.replaceOp(op, concat(rewriter, op.getLoc(), parts, op.getDim()));
    return success();
  }
};

struct StackLowering : OpConversionPattern<aten::StackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::StackOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type element = op.getResult().getType().getElementType();
    SmallVector<Value> parts;
    for (Value t : adaptor.getTensors()) {
      Value converted = broadcastAndConvert(rewriter, op.getLoc(), t, tensorType(t).clone(element));
      parts.push_back(reshapeTensor(rewriter, op.getLoc(), converted, withUnitDim(t, op.getDim())));
    }
    rewriter.replaceOp(op, concat(rewriter, op.getLoc(), parts, op.getDim()));
    return success();
  }
};

struct SplitLowering : OpConversionPattern<aten::SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::SplitOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> pieces;
    int64_t start = 0, dim = op.getDim();
    for (Value r : op.getResults()) {
      int64_t size = tensorType(r).getDimSize(dim);
      pieces.push_back(sliceAlong(rewriter, op.getLoc(), adaptor.getSelf(), dim, start, size));
      start += size;
    }
    rewriter.replaceOp(op, pieces);
    return success();
  }
};

struct UnbindLowering : OpConversionPattern<aten::UnbindOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::UnbindOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> pieces;
    for (auto [i, r] : llvm::enumerate(op.getResults())) {
      Value slice = sliceAlong(rewriter, op.getLoc(), adaptor.getSelf(), op.getDim(), i, 1);
      pieces.push_back(reshapeTensor(rewriter, op.getLoc(), slice, tensorType(r).getShape()));
    }
    rewriter.replaceOp(op, pieces);
    return success();
  }
};

struct ConstantPadNdLowering : OpConversionPattern<aten::ConstantPadNdOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::ConstantPadNdOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    int64_t rank = op.getSelf().getType().getRank();
    SmallVector<int64_t> low(rank, 0), high(rank, 0);
    ArrayRef<int64_t> pad = op.getPad();
    // F.pad's pairs run from the last dimension backwards.
    for (size_t i = 0; i < pad.size() / 2; ++i) {
      low[rank - 1 - i] = pad[2 * i];
      high[rank - 1 - i] = pad[2 * i + 1];
    }
    rewriter.replaceOp(op, padWith(rewriter, op.getLoc(), adaptor.getSelf(), low, high,
                                   op.getValue().convertToDouble()));
    return success();
  }
};

struct RollLowering : OpConversionPattern<aten::RollOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::RollOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getSelf();
    for (auto [shift, dim] : llvm::zip(op.getShifts(), op.getDims())) {
      int64_t size = tensorType(x).getDimSize(dim);
      int64_t s = size ? ((shift % size) + size) % size : 0;
      if (s == 0)
        continue;
      // The last s elements move to the front.
      Value tail = sliceAlong(rewriter, loc, x, dim, size - s, s);
      Value head = sliceAlong(rewriter, loc, x, dim, 0, size - s);
      x = concat(rewriter, loc, {tail, head}, dim);
    }
    rewriter.replaceOp(op, x);
    return success();
  }
};

struct FlipLowering : OpConversionPattern<aten::FlipOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::FlipOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SmallVector<unsigned> dims;
    for (int64_t d : op.getDims())
      dims.push_back(d);
    rewriter.replaceOp(op, reverseDims(rewriter, op.getLoc(), adaptor.getSelf(), dims));
    return success();
  }
};

/// x[..., idx0, ..., idx1, ...]: a generic over the result whose payload
/// reads x with tensor.extract (a gather; amp-differentiate scatters its
/// adjoint back). The index tensors broadcast into the result's block of
/// index dimensions; negative indices count from the end.
struct IndexLowering : OpConversionPattern<aten::IndexOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(aten::IndexOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getSelf();
    ArrayRef<int64_t> self = tensorType(x).getShape(), dims = op.getIndexedDims();
    RankedTensorType type = op.getResult().getType();
    SmallVector<SmallVector<int64_t>> shapes;
    for (Value index : op.getIndices())
      shapes.emplace_back(tensorType(index).getShape());
    int64_t position = 0;
    SmallVector<int64_t> block;
    (void)aten::indexResultShape(self, dims, shapes, &position, &block);
    int64_t blockRank = block.size();
    // Each index tensor, read at the result's block dimensions.
    SmallVector<AffineMap> maps;
    for (ArrayRef<int64_t> shape : shapes) {
      SmallVector<AffineExpr> exprs;
      int64_t offset = blockRank - shape.size();
      for (auto [i, size] : llvm::enumerate(shape))
        exprs.push_back(size == 1 && block[offset + i] != 1
                            ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(position + offset + i, ctx));
      maps.push_back(AffineMap::get(type.getRank(), 0, exprs, ctx));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(type.getRank()));
    SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType());
    Value result = buildGeneric(
        rewriter, loc, adaptor.getIndices(), init, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          SmallVector<Value> coords;
          int64_t nextResultDim = 0;
          for (int64_t d = 0; d < static_cast<int64_t>(self.size()); ++d) {
            auto it = llvm::find(dims, d);
            if (it != dims.end()) {
              Value i = args[it - dims.begin()];
              Value size = arith::ConstantOp::create(b, l, b.getIntegerAttr(i.getType(), self[d]));
              Value zero = arith::ConstantOp::create(b, l, b.getIntegerAttr(i.getType(), 0));
              Value negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
              Value wrapped = arith::SelectOp::create(b, l, negative,
                                                      arith::AddIOp::create(b, l, i, size), i);
              coords.push_back(clampedIndex(b, l, wrapped, self[d]));
              continue;
            }
            // A whole dimension: its place in the result skips the block.
            int64_t resultDim = nextResultDim < position ? nextResultDim : nextResultDim + blockRank;
            coords.push_back(linalg::IndexOp::create(b, l, resultDim));
            ++nextResultDim;
          }
          return tensor::ExtractOp::create(b, l, x, coords);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void aten_to_linalg::populateDataMovementPatterns(RewritePatternSet &patterns) {
  patterns.add<ViewLowering, PermuteLowering, ExpandLowering, SliceLowering, SelectLowering,
               SliceScatterLowering, SelectScatterLowering, CatLowering, StackLowering,
               SplitLowering, UnbindLowering, ConstantPadNdLowering, RollLowering, FlipLowering,
               IndexLowering>(patterns.getContext());
}
