//===- Pipelines.h - named ampc pipelines -------------------------*- C++ -*-===//

#ifndef AMPC_PIPELINES_PIPELINES_H
#define AMPC_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace ampc {

/// amp-ingest: brings TOSA (and mixed TOSA + linalg) models into the linalg
/// form autocast works on, then canonicalizes.
void buildIngestPipeline(mlir::OpPassManager &pm);

/// Registers every ampc pipeline with the global pass registry.
void registerPipelines();

} // namespace ampc

#endif // AMPC_PIPELINES_PIPELINES_H
