//===- InitAll.h - one registration point for ampc ----------------*- C++ -*-===//

#ifndef AMPC_INITALL_H
#define AMPC_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace ampc {

/// Dialects ampc's tools accept: amp plus the upstream dialects of model IR.
void registerAllDialects(mlir::DialectRegistry &registry);

/// ampc's passes and pipelines, and the upstream passes users combine them
/// with.
void registerAllPasses();

} // namespace ampc

#endif // AMPC_INITALL_H
