//===- PipelineSteps.h - steps shared by ampc's lowering pipelines -*- C++ -*-===//
//
// Used by lib/Codegen/CPU and lib/Codegen/GPU: both lowerings start the same way.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_COMMON_PIPELINESTEPS_H
#define AMPC_CODEGEN_COMMON_PIPELINESTEPS_H

#include "mlir/Pass/PassManager.h"

namespace ampc::detail {

/// Appends upstream passes given in textual form. The specs are constants of
/// this library, so a parse failure is a bug here, not bad input.
void addUpstream(mlir::OpPassManager &pm, llvm::StringRef spec);

/// amp ops to upstream ops, elementwise arith on tensors to linalg, and
/// producer/consumer fusion of elementwise generics.
/// `keepContractions`: fuse nothing into contractions and convolutions
/// (amp-fuse-elementwise, for the CPU's oneDNN route); else upstream's
/// linalg-fuse-elementwise-ops, as the CUDA lowering was measured with.
void addAMPToFusedLinalg(mlir::OpPassManager &pm, bool keepContractions);

/// Tensors to buffers across function boundaries, with results turned into
/// caller-provided out-params (no ownership transfer across the C ABI).
void addBufferizationToOutParams(mlir::OpPassManager &pm);

} // namespace ampc::detail

#endif // AMPC_CODEGEN_COMMON_PIPELINESTEPS_H
