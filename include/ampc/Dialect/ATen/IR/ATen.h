//===- ATen.h - the aten frontend dialect -------------------------*- C++ -*-===//

#ifndef AMPC_DIALECT_ATEN_IR_ATEN_H
#define AMPC_DIALECT_ATEN_IR_ATEN_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ampc/Dialect/ATen/IR/ATenDialect.h.inc"

#define GET_OP_CLASSES
#include "ampc/Dialect/ATen/IR/ATenOps.h.inc"

namespace ampc::aten {

/// numpy broadcasting of two shapes, if they broadcast.
std::optional<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> a,
                                                          llvm::ArrayRef<int64_t> b);

/// PyTorch's pooling output size along one dimension (pooling_output_shape):
/// floor or, with `ceilMode`, ceil of (in + 2 pad - dilation (kernel - 1) - 1)
/// / stride, plus one; a last window that would start in the right padding
/// is dropped.
int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation, bool ceilMode);

/// A convolution's output size along one dimension (transposed or not).
int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation, bool transposed, int64_t outputPadding);

/// The result shape of aten.index: `self` indexed along `indexedDims` by
/// tensors of `indexShapes` (PyTorch's advanced-indexing placement).
std::optional<llvm::SmallVector<int64_t>>
indexResultShape(llvm::ArrayRef<int64_t> self, llvm::ArrayRef<int64_t> indexedDims,
                 llvm::ArrayRef<llvm::SmallVector<int64_t>> indexShapes,
                 int64_t *broadcastPosition = nullptr,
                 llvm::SmallVector<int64_t> *broadcastShape = nullptr);

} // namespace ampc::aten

#endif // AMPC_DIALECT_ATEN_IR_ATEN_H
