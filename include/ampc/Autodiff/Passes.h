//===- Passes.h - ampc reverse-mode differentiation ---------------*- C++ -*-===//

#ifndef AMPC_AUTODIFF_PASSES_H
#define AMPC_AUTODIFF_PASSES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

enum class DifferentiateLoss { None, MSE, CrossEntropy, NLL };
enum class DifferentiateLabels { OneHot, Indices };
enum class DifferentiateOptimizer { SGD, Adam, AdamW };

#define GEN_PASS_DECL
#include "ampc/Autodiff/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Autodiff/Passes.h.inc"

} // namespace ampc

#endif // AMPC_AUTODIFF_PASSES_H
