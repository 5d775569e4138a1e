//===- BufferRoots.h - the buffer behind a view ------------------*- C++ -*-===//
//
// Shared by the passes that reason about which buffer an op touches.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_COMMON_BUFFERROOTS_H
#define AMPC_CODEGEN_COMMON_BUFFERROOTS_H

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

namespace ampc {

/// The buffer a view was taken from (through subviews, casts, ...); any
/// value that is not a memref is its own root.
inline mlir::Value rootBuffer(mlir::Value value) {
  if (auto buffer = mlir::dyn_cast<mlir::TypedValue<mlir::BaseMemRefType>>(value))
    return mlir::memref::skipViewLikeOps(buffer);
  return value;
}

} // namespace ampc

#endif // AMPC_CODEGEN_COMMON_BUFFERROOTS_H
