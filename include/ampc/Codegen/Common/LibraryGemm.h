//===- LibraryGemm.h - matching GEMMs for runtime libraries ------*- C++ -*-===//
//
// What amp-gpu-library-gemm (cuBLASLt) and amp-cpu-library-gemm (oneDNN)
// share: matching a matmul-like op on buffers, and the producers (zero
// fills, transposes) and consumers (bias additions, roundings) that fold
// into a library call.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_COMMON_LIBRARYGEMM_H
#define AMPC_CODEGEN_COMMON_LIBRARYGEMM_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace ampc::library {

/// One GEMM operand: the buffer read and whether it is stored transposed
/// (KxM for A, NxK for B) relative to the row-major product.
struct Operand {
  mlir::Value buffer;
  bool transposed = false;
};

/// What the matchers may assume beyond upstream ops' memory effects. The
/// GPU pass keeps the defaults (what was measured on a GPU); the CPU pass
/// turns both on.
struct FoldingRules {
  /// Calls into ampc's runtimes (emitted by these passes) write only their
  /// output operand, traced from its pointer back to its buffer.
  bool seeLibraryCalls = false;
  /// A transpose may fold from a buffer that holds several transposed
  /// copies in turn (its GEMM's must be the last write before it).
  bool reusedTransposeBuffers = false;
};

/// The runtimes' element type codes (0 f32, 1 f16, 2 bf16).
std::optional<int32_t> typeCode(mlir::Type type);

/// The positions (as dims of the op's loops) a 2-D or batched 3-D operand
/// map must have: [batch?, first, second] or [batch?, second, first]. Sets
/// `transposed` for the second order; fails for anything else.
mlir::LogicalResult matchOperandMap(mlir::AffineMap map, std::optional<unsigned> batch,
                                    unsigned first, unsigned second, bool &transposed);

/// Whether `buffer` is a memref of rank >= 2 with unit inner stride.
bool hasUnitInnerStride(mlir::Value buffer);

/// May `op` write to the buffer `root`? Distinct allocations never alias;
/// distinct step arguments are assumed not to (the runtime passes distinct
/// buffers).
bool mayWrite(mlir::Operation *op, mlir::Value root, bool seeLibraryCalls = false);

/// If `input` is a fresh buffer written only by a linalg.transpose of its
/// last two dims and read only by `gemm`, returns the transpose (whose source
/// the GEMM can read with the flag flipped instead).
mlir::linalg::TransposeOp foldableTranspose(mlir::Value input, mlir::Operation *gemm,
                                            const FoldingRules &rules = {});

/// Whether `fill` writes a constant zero.
bool isZeroFill(mlir::linalg::FillOp fill);

/// Whether `op` writes zeros over all of `buffer`: a zero linalg.fill, or a
/// structured op with no inputs yielding a constant zero (what tensor.pad
/// bufferizes to).
bool writesZeros(mlir::Operation *op, mlir::Value buffer);

/// The op that zeroes `output` for `op` (output being a fresh allocation,
/// only its uses can touch it): a linalg.fill of zero, or a copy from a
/// buffer that holds zeros, as the last writer before `op`.
mlir::Operation *foldableZeroInit(mlir::Value output, mlir::Operation *op,
                                  bool seeLibraryCalls = false);

/// A bias addition (and, where allowed, a ReLU after it) that a library
/// epilogue can compute: a 2-D elementwise generic reading the GEMM's result
/// `c` (identity map) and a bias vector along N, writing
/// `round(act(c + bias))` into a fresh row-major buffer of the GEMM's output
/// type.
struct BiasEpilogue {
  mlir::linalg::GenericOp generic;
  mlir::Value bias;          ///< The f32/f16/bf16 vector as stored.
  mlir::Type biasPrecision;  ///< The type it is added in (the output's).
  mlir::Value output;
  bool relu = false;         ///< max(c + bias, 0) after the addition.
};

std::optional<BiasEpilogue> matchBiasEpilogue(mlir::linalg::GenericOp generic, mlir::Value c,
                                              mlir::Type inputType, bool allowRelu);

/// Whether `gemm` may run at `consumer` instead (later in the same block):
/// nothing in between writes what it reads, and nothing in between but the
/// allocation touches `output`.
bool canMoveGemmTo(mlir::Operation *gemm, mlir::Operation *consumer,
                   llvm::ArrayRef<mlir::Value> reads, mlir::Value output,
                   bool seeLibraryCalls = false);

/// The users of a GEMM result buffer besides the GEMM, its folded zero fill
/// and its frees.
llvm::SmallVector<mlir::Operation *> resultReaders(mlir::Value c, mlir::Operation *gemm,
                                                   mlir::Operation *fill);

/// Whether every reader of `c` is an elementwise-style generic that only
/// reads it as an input and rounds it to `type` first: the GEMM can then
/// write `type` directly (the libraries round their f32 accumulator to
/// nearest, like arith.truncf).
bool readersRoundTo(llvm::ArrayRef<mlir::Operation *> readers, mlir::Value c, mlir::Type type);

/// Rewrites the readers of `c` to read `narrow` (of the type they rounded to).
void readNarrowed(llvm::ArrayRef<mlir::Operation *> readers, mlir::Value c, mlir::Value narrow);

/// Erases a buffer that is only freed, with its frees.
void dropIfUnread(mlir::Value buffer);

/// Erases the producers a library call folded in (transposes, zero copies)
/// and what nobody reads any more because of it.
void eraseFoldedProducers(llvm::ArrayRef<mlir::Operation *> folded);

/// The address of a buffer's first element as an index (aligned pointer
/// plus offset in bytes), built at the builder's insertion point.
mlir::Value bufferAddress(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value buffer);

/// Whether `body` computes `out + a' * b'` and nothing else, where a' and b'
/// are the two input block arguments, each as is or extended (arith.extf)
/// to the output's type: the payload a library GEMM or convolution computes.
bool isMulAddBody(mlir::Block &body);

/// The library a pass routes GEMMs to, and what its GEMM entry point can do.
struct LibraryGemmTarget {
  /// The C function: (i32 typeA, typeB, typeC, transA, transB, index batch,
  /// m, n, k, index a, lda, strideA, index b, ldb, strideB, index c, ldc,
  /// strideC, f32 beta, index bias[, i32 biasType, i32 postOp]).
  llvm::StringRef function;
  /// Whether the call takes biasType and postOp after the bias.
  bool takesEpilogueKinds = false;
  /// Whether an f32 GEMM folds its consumers (bias, ReLU) too, not only an
  /// f16/bf16 one.
  bool foldF32Consumers = false;
  /// Whether a ReLU after the bias addition folds in.
  bool foldRelu = false;
  FoldingRules rules;
};

/// What rewriteToLibraryGemm folded, for the passes' statistics.
struct LibraryGemmCounts {
  unsigned gemms = 0, transposes = 0, fills = 0, biasEpilogues = 0, reluEpilogues = 0,
           narrowedResults = 0;
};

/// Rewrites a matmul-like op on buffers (one M, N and K, at most one batch
/// dimension; f32/f16/bf16 operands with unit inner stride) into a call to
/// `target.function`, declared in `module` on first use; folds zero fills,
/// transposes, bias additions and roundings as described in
/// amp-gpu-library-gemm's documentation. Fails, changing nothing, for any
/// other op.
mlir::LogicalResult rewriteToLibraryGemm(mlir::linalg::LinalgOp op, mlir::ModuleOp module,
                                         const LibraryGemmTarget &target,
                                         LibraryGemmCounts &counts);

} // namespace ampc::library

#endif // AMPC_CODEGEN_COMMON_LIBRARYGEMM_H
