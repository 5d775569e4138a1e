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
  LogicalResult rewrite(linalg::LinalgOp op) {
    LibraryGemmTarget target;
    target.function = kGemmFunction;
    LibraryGemmCounts counts;
    if (failed(rewriteToLibraryGemm(op, getOperation(), target, counts)))
      return failure();
    numGemms += counts.gemms;
    numFoldedTransposes += counts.transposes;
    numFoldedFills += counts.fills;
    numBiasEpilogues += counts.biasEpilogues;
    numNarrowedResults += counts.narrowedResults;
    return success();
  }
};

} // namespace
