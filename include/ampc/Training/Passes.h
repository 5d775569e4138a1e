//===- Passes.h - ampc training-step passes -----------------------*- C++ -*-===//
//
// The training-step contract's verifier, FP32 master weights, loss scaling
// gradient accumulation and data parallelism.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TRAINING_PASSES_H
#define AMPC_TRAINING_PASSES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

enum class LossScalingMode { None, Static, Dynamic };

#define GEN_PASS_DECL
#include "ampc/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Training/Passes.h.inc"

} // namespace ampc

#endif // AMPC_TRAINING_PASSES_H
